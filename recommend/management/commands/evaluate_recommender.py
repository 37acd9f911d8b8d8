import json
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from recommend import evaluation


class Command(BaseCommand):
    help = "Offline evaluation (time split): slate accuracy and NDCG@10 vs popularity, on the interactions table and MovieLens 100k."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", choices=["interactions", "ml100k", "both"], default="both")
        parser.add_argument("--train-fraction", type=float, default=0.8)
        parser.add_argument("--no-als", action="store_true", help="Skip the ALS rows (they need `implicit`)")
        parser.add_argument("--json", action="store_true", help="Print JSON only")

    def handle(self, *args, **options):
        methods = ["random", "popularity", "counting"] + ([] if options["no_als"] else ["als", "counting+als"])
        results = {}
        names = ["interactions", "ml100k"] if options["dataset"] == "both" else [options["dataset"]]
        for name in names:
            started = time.perf_counter()
            if name == "ml100k":
                data = evaluation.load_ml100k(evaluation.ml100k_wheel(Path(settings.VAR_DIR) / "recommend"))
            else:
                data = evaluation.load_interactions()
            if len(data.events.visitor) < 10:
                self.stderr.write(f"{name}: too few interactions to evaluate (run simulate_interactions first)")
                continue
            evaluator = evaluation.Evaluator(data, train_fraction=options["train_fraction"], als_weight=settings.RECOMMEND_ALS_WEIGHT)
            results[name] = {"events": len(data.events.visitor), "results": evaluator.report(methods)}
            results[name]["seconds"] = round(time.perf_counter() - started, 2)
        if options["json"]:
            self.stdout.write(json.dumps(results, indent=2))
            return
        for name, block in results.items():
            self.stdout.write(f"\n{name}: {block['events']} events, {block['seconds']} s")
            self.stdout.write(f"  {'method':<14}{'slate acc':>10}{'NDCG@10':>10}{'slates':>8}{'groups':>8}")
            for method, row in block["results"].items():
                self.stdout.write(
                    f"  {method:<14}{row['slate_accuracy']:>10.4f}{row['ndcg@10']:>10.4f}{row['slates']:>8}{row['ndcg_groups']:>8}"
                )
