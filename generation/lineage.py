"""Bred jobs: a recipe and a lineage per image index, checked here and carried in the job's options.

The gardener (issue 22) breeds new pictures from liked parents. A bred job is an ordinary bulk or
images job whose ``JobRequest`` also carries, for each index (a bulk job's landscape and portrait
share one):

- ``recipes``: the procedural painter's recipe (``generation.backends.recipes.Recipe.to_dict``);
- ``lineage``: ``{"parents": [image ids], "operator": "mutate" | "crossover" | "blend" |
  "variation" | "prompt" | "model" | "img2img", "generation": n}`` (a blend has up to three parents;
  the last four operators: a parent's diffusers picture with a variation seed, with words of the
  word bank, with another model or LoRA, repainted from the picture itself), where *n* is one more
  than the oldest-bred parent's (a fresh picture is generation 0).

The runner paints index *i* from ``recipes[i]`` and stores ``recipe`` and ``lineage`` in the image's
``parameters`` (and its EXIF), where the admin, the review page and the gardener read them.
"""

from __future__ import annotations

from generation import backends
from generation.backends.recipes import Recipe

# Each operator, as people read it before the parents ("crossover of #12 × #15").
OPERATOR_WORDS = {
    "mutate": "mutation of",
    "crossover": "crossover of",
    "blend": "blend of",  # up to three parents, weighted by how well they were liked
    "variation": "variation of",
    "prompt": "prompt mutation of",  # diffusers: words of the key's word bank added or swapped in
    "model": "model change of",  # diffusers: another library pipeline, or one more LoRA
    "img2img": "img2img variation of",  # diffusers: the parent's picture repainted at a low strength
}
OPERATORS = tuple(OPERATOR_WORDS)
MAX_PARENTS = 3


def bred_options(*, recipes, lineage, count: int, backend: str, errors: dict[str, str]) -> dict:
    """``{"recipes": [...], "lineage": [...]}`` as the job stores them (only those given), checked."""
    options: dict = {}
    if recipes:
        if backend != backends.PROCEDURAL:
            errors["recipes"] = f"Recipes are for the procedural backend; this job uses {backend}."
        elif not isinstance(recipes, list | tuple) or len(recipes) != count:
            errors["recipes"] = f"recipes: expected one recipe per index ({count})."
        else:
            try:
                options["recipes"] = [Recipe.from_dict(recipe).to_dict() for recipe in recipes]
            except ValueError as exc:
                errors["recipes"] = f"Bad recipe: {exc}"
    if lineage:
        if not isinstance(lineage, list | tuple) or len(lineage) != count:
            errors["lineage"] = f"lineage: expected one entry per index ({count})."
        else:
            try:
                options["lineage"] = [_checked_lineage(entry) for entry in lineage]
            except ValueError as exc:
                errors["lineage"] = str(exc)
    return options


def _checked_lineage(entry) -> dict:
    if not isinstance(entry, dict) or set(entry) != {"parents", "operator", "generation"}:
        raise ValueError("lineage: each entry is {parents, operator, generation}.")
    parents, operator, generation = entry["parents"], entry["operator"], entry["generation"]
    if not isinstance(parents, list | tuple) or not 1 <= len(parents) <= MAX_PARENTS:
        raise ValueError(f"lineage: 1–{MAX_PARENTS} parent image ids.")
    if not all(type(parent) is int and parent > 0 for parent in parents):
        raise ValueError("lineage: parents are image ids.")
    if operator not in OPERATORS:
        raise ValueError(f"lineage: operator must be one of {', '.join(OPERATORS)}; got {operator!r}.")
    if type(generation) is not int or generation < 1:
        raise ValueError("lineage: generation is an int of at least 1.")
    return {"parents": list(parents), "operator": operator, "generation": generation}


def image_lineage(parameters: dict | None) -> dict | None:
    """The lineage an image's ``parameters`` record, or None for a fresh (unbred) picture."""
    lineage = (parameters or {}).get("lineage")
    return lineage if isinstance(lineage, dict) else None


def describe(lineage: dict | None) -> str:
    """One line for people: "generation 2 · crossover of #12 × #15", "" for a fresh picture."""
    if not lineage:
        return ""
    parents = " × ".join(f"#{parent}" for parent in lineage.get("parents", []))
    how = OPERATOR_WORDS.get(lineage.get("operator", ""), "mutation of")
    return f"generation {lineage.get('generation', '?')} · {how} {parents}"
