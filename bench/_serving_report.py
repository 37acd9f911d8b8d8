"""bench/serving.py's figures: each endpoint's median round against its floor, and the printed tables."""

from __future__ import annotations


def median_rounds(rounds: dict[str, list[dict]], targets: list[tuple[str, str]]) -> dict:
    """Each endpoint's figures from its round with the median ratio to that round's floor, which was
    measured just before it: the floor of one machine moved by a quarter between runs, more than the
    changes measured, and a ratio taken next to its own floor moves less. ``rounds`` lists every
    round's requests/s and ratio; /like's likes are checked in every round."""
    out: dict = {"rounds": len(rounds["floor"])}
    floors = [row["rps"] for row in rounds["floor"]]
    out["floor"] = sorted(rounds["floor"], key=lambda row: row["rps"])[len(floors) // 2]
    out["floor"]["rounds"] = [{"rps": rps} for rps in floors]
    for name, _ in targets[1:]:
        ratios = [row["rps"] / floor for row, floor in zip(rounds[name], floors, strict=True)]
        median = sorted(range(len(ratios)), key=ratios.__getitem__)[len(ratios) // 2]
        out[name] = {**rounds[name][median], "ratio_to_floor": round(ratios[median], 3)}
        out[name]["rounds"] = [
            {"rps": row["rps"], "ratio_to_floor": round(ratio, 3)} for row, ratio in zip(rounds[name], ratios, strict=True)
        ]
        if name == "like":
            out[name]["lost"] = sum(max(0, row["answered_2xx"] - row["stored"]) for row in rounds[name])
    return out


def report(result: dict, targets: list[tuple[str, str]]) -> int:
    """Prints one mode's figures; returns the likes answered 200 but not stored."""
    print(f"{'endpoint':<14}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'x floor':>9}  notes")
    for name, _ in targets:
        row = result[name]
        notes = f"non-2xx {row['non2xx']}, socket errors {row['socket_errors']}"
        if name == "like":
            notes += f"; answered 200: {row['answered_2xx']}, stored: {row['stored']}"
        ratio = row.get("ratio_to_floor", 1.0)
        print(f"{name:<14}{row['rps']:>10.0f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{ratio:>9.3f}  {notes}")
    print("\nCPU ms per request (all processes of each role, during the measured run):")
    for name, _ in targets:
        busy = result[name].get("core_busy_percent")
        cores = f"  (busy: {', '.join(f'core {core} {percent:.0f}%' for core, percent in busy.items())})" if busy else ""
        print(f"{name:<14}" + ", ".join(f"{role} {ms:.2f}" for role, ms in result[name]["cpu_ms_per_request"].items()) + cores)
    if result["rounds"] > 1:
        print("\nrounds (req/s, x that round's floor); the rows above are each endpoint's median-ratio round:")
        for name, _ in targets:
            turns = [
                f"{turn['rps']:.0f}" + (f" ({turn['ratio_to_floor']:.3f})" if "ratio_to_floor" in turn else "")
                for turn in result[name]["rounds"]
            ]
            print(f"{name:<14}" + ", ".join(turns))
    # More stored than answered is expected: requests still in flight when wrk stops are finished
    # by the server but never counted as answered. Fewer stored than answered would be a loss.
    if "like" not in result:
        return 0
    lost = result["like"]["lost"]
    if lost:
        print(f"LOST LIKES: {lost} answered 200 but not stored")
    return lost
