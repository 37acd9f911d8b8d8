"""Generate garden images from the command line (curators, operators), with progress.

manage.py generate --emotion calm/spring,cloudy,day --bulk --count 10
manage.py generate --prompt "a garden of glass flowers" --width 768 --height 512 --no-wait
manage.py generate --inline --backend procedural --emotion happy --count 2   # no worker needed
manage.py generate --emotion calm --bulk --init-image 42 --denoising-strength 0.35   # img2img from image 42
manage.py generate --prompt "a glass garden" --width 1280 --height 800 --hires --vae vae-ft-mse   # two passes, a library VAE
manage.py generate --cancel <job id>
"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from generation import selectors, services, waits
from generation.backends import BACKENDS
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest
from generation.requests.lora_tags import LoraSyntaxError, parse_lora_list
from generation.worker import runner

# JobRequest fields the command does not take as options.
FOLLOW_SECONDS = 0.5  # how often the progress bar reads the job (steps are not announced)
NOT_OPTIONS = ("kind", "kind_options", "recipes", "lineage", "origin")


class Command(BaseCommand):
    help = "Submit a generation job (a bulk job makes a landscape and a portrait per index) and follow its progress."

    def add_arguments(self, parser):
        parser.add_argument("--emotion", default="", help="Emotion or search key (calm/spring,cloudy,day): the key folder")
        parser.add_argument("--favorite", default="", help="season,weather,time as kiosks send it, e.g. spring,cloudy,day (empty: none)")
        parser.add_argument("--emotion-text", default="", help="Words for the emotion in the prompt (default: the emotion)")
        parser.add_argument("--others", default=None, help="Style words (default: the original's)")
        parser.add_argument("--prompt", default="", help="A full prompt instead of the composition")
        parser.add_argument("--negative-prompt", default="")
        parser.add_argument("--bulk", action="store_true", help="Landscape + portrait per index (default 1280x800 / 800x1280)")
        parser.add_argument("--count", type=int, default=1, help="Images (bulk: landscape + portrait pairs)")
        parser.add_argument("--width", type=int)
        parser.add_argument("--height", type=int)
        parser.add_argument("--steps", type=int)
        parser.add_argument("--guidance", type=float)
        parser.add_argument("--seed", type=int)
        parser.add_argument("--backend", choices=BACKENDS)
        parser.add_argument("--model", default=None, help="A model of the library by name (manage.py scan_models)")
        parser.add_argument(
            "--lora", dest="loras", action="append", default=[], metavar="NAME[:WEIGHT]", help="A LoRA of the library (repeatable)"
        )
        parser.add_argument("--sampler", default="", help="A sampler name (GARDEN_DIFFUSION_SCHEDULER's names)")
        parser.add_argument("--clip-skip", type=int, default=None)
        parser.add_argument("--eta", type=float, default=None, help="DDIM's step noise, 0-1 (default: the scheduler's own, 0)")
        parser.add_argument("--subseed", type=int, default=None, help="A1111's variation seed")
        parser.add_argument("--subseed-strength", type=float, default=0.0)
        parser.add_argument("--init-image", type=int, default=None, metavar="IMAGE_ID", help="img2img: start from this garden image")
        parser.add_argument(
            "--denoising-strength", type=float, default=None, help="img2img: how much of the init image is repainted (0-1, default 0.75)"
        )
        parser.add_argument("--vae", default=None, help="A VAE of the library (Automatic: the model's default; None: its own)")
        parser.add_argument(
            "--hires", dest="hires_fix", action="store_true", default=None,
            help="Hires fix: paint at the model's native size, upscale, repaint (default: bulk jobs larger than the native size)",
        )  # fmt: skip
        parser.add_argument("--no-hires", dest="hires_fix", action="store_false", help="Paint in one pass, whatever GARDEN_HIRES_FIX says")
        parser.add_argument("--hires-upscaler", default="", help="latent, lanczos, nearest or a library upscaler (GARDEN_HIRES_UPSCALER)")
        parser.add_argument("--hires-steps", type=int, default=None, help="The second pass's steps (default: --steps)")
        parser.add_argument("--hires-denoising", type=float, default=None, help="The second pass's denoising (GARDEN_HIRES_DENOISING)")
        parser.add_argument("--hires-first-width", type=int, default=None, help="The first pass's width (default: the native area)")
        parser.add_argument("--hires-first-height", type=int, default=None)
        parser.add_argument("--no-wait", action="store_true", help="Print the job id and return at once")
        parser.add_argument("--inline", action="store_true", help="Run in this process instead of on a worker")
        parser.add_argument("--timeout", type=float, default=24 * 3600, help="Seconds to follow the job (default a day)")
        parser.add_argument("--cancel", metavar="JOB_ID", help="Cancel that job instead (idempotent)")

    def handle(self, *args, **options):
        if options["cancel"]:
            job = GenerationJob.objects.filter(pk=options["cancel"]).first()
            if job is None:
                raise CommandError(f"No job {options['cancel']}.")
            job = services.cancel_job(job=job)
            self.stdout.write(f"{job.pk} {job.status}")
            return
        try:
            options["loras"] = parse_lora_list(", ".join(options["loras"]))
        except LoraSyntaxError as exc:
            raise CommandError(str(exc)) from None
        request = JobRequest(
            kind=GenerationJob.Kind.BULK if options["bulk"] else GenerationJob.Kind.IMAGES,
            # Other kinds' options come with their own apps; recipes and lineage are the gardener's (bred jobs);
            # origin marks other front doors (the A1111 API).
            **{name: options[name] for name in JobRequest.field_names() if name not in NOT_OPTIONS},
        )
        try:
            job = services.create_job(request=request, enqueue=not options["inline"])
        except JobParameterError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"job {job.pk}: {job.images_total} image(s), {job.backend} {job.model_id}, seed {job.seed}")
        if options["no_wait"]:
            return
        if options["inline"]:
            job = runner.execute_job(job_id=job.pk, worker="manage.py generate", heartbeat=True)
        else:
            job = self._follow(job, timeout=options["timeout"], quiet=options["verbosity"] == 0)
        for image in selectors.job_images(job):
            self.stdout.write(image.key)
        if job.status != GenerationJob.Status.SUCCEEDED:
            raise CommandError(f"job {job.pk} {job.status}{': ' + job.error if job.error else ''}")
        self.stdout.write(self.style.SUCCESS(f"job {job.pk} succeeded: {job.images_done} image(s) in the pool"))

    def _follow(self, job, *, timeout: float, quiet: bool):
        bar = tqdm(total=job.steps_total, desc="queued", unit="step", disable=quiet)

        def show(job) -> None:
            position = selectors.job_queue_position(job)
            bar.set_description(f"queued #{position}" if position else job.status)
            bar.update(job.steps_done - bar.n)

        try:  # the one wait for a job (generation.waits), read twice a second for the bar's steps
            job = waits.wait_for_job(job.pk, seconds=timeout, reread=FOLLOW_SECONDS, seen=show) or job
            show(job)
        except KeyboardInterrupt:
            bar.close()
            self.stderr.write(f"stopped following; the job goes on. Cancel with: manage.py generate --cancel {job.pk}")
            raise SystemExit(130) from None
        bar.close()
        return job
