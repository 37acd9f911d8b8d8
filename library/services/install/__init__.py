"""Install a model into the library (GARDEN_MODELS_DIR) from a Hub repo id, an http(s) URL or a local path.

``install(source, …)`` is what ``manage.py install_model`` and the admin's "Install a model" (a worker
task) call (docs/models.md#installing-models):

1. everything is written into the staging folder ``GARDEN_MODELS_DIR/.incoming/`` (``staging``; the
   scan skips dot-folders, so nothing there is ever an entry): a URL's bytes into ``<key>.part``
   (``url_download``: kept after a cut connection, the next try resumes with an HTTP Range request),
   a Hub repo through huggingface_hub into ``<key>/`` (``hub_download``, which resumes its own
   ``.incomplete`` files), a local file or folder copied (``local_copy``);
2. the result is checked (``verification``): the sha256 (computed while downloading, 1 MiB at a time)
   against ``--sha256``; a model, not something else: what the scan would list it as
   (library.files.weights_file), a safetensors file whose tensors all lie within it, a
   diffusers folder with ``model_index.json``; an HTML page is refused at once;
3. it is moved into place with one ``os.replace`` (same file system), beside it a sidecar JSON that
   records where it came from (``placement``);
4. the library is rescanned.

Any failure raises InstallError with a one-line reason and leaves nothing in the library: no file,
no entry. URLs whose host resolves to a private, loopback, link-local or otherwise non-public
address are refused (each redirect too) unless GARDEN_MODELS_ALLOW_PRIVATE_URLS is set
(``addresses``). An expression model for /emotion is checked by loading it (``expression_model``).
The admin queues installs on a worker (``worker_task``), which reports into status files
(``progress_reports``).
"""

from library.services.install.addresses import check_url_allowed
from library.services.install.errors import FORM, FORM_LABELS, InstallError, NoLibrary
from library.services.install.hub_download import select_hub_files
from library.services.install.installer import install, precheck_source, resolve_starter
from library.services.install.placement import KIND_WORDS, KINDS, Installed
from library.services.install.progress_reports import read_status, recent_statuses
from library.services.install.worker_task import request_install, run_install

__all__ = [
    "FORM",
    "FORM_LABELS",
    "KINDS",
    "KIND_WORDS",
    "InstallError",
    "Installed",
    "NoLibrary",
    "check_url_allowed",
    "install",
    "precheck_source",
    "read_status",
    "recent_statuses",
    "request_install",
    "resolve_starter",
    "run_install",
    "select_hub_files",
]
