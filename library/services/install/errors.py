"""The one error an install raises (every module of the install raises it, callers catch it).

An install is asked for in two ways, so a message that tells what to change names the option as its
caller gave it: ``str(error)`` says the command line's flags (``manage.py install_model --force``),
``error.worded(FORM)`` the controls of the admin's *Install a model* form (its worker's reports and
its own refusals; curation/admin/library_install.py labels its fields with these words).
"""

from __future__ import annotations

from config.errors import DomainError

COMMAND_LINE = {
    "force": "--force",
    "name": "--name",
    "kind": "--kind",
    "sha256": "--sha256",
    "revision": "--revision",
    "subfolder": "--subfolder",
    "variant": "--variant",
}
# The admin form's labels (InstallForm), in English as every install message is.
FORM_LABELS = {
    "force": "Replace an installed model of the same name",
    "name": "Name",
    "kind": "Kind",
    "sha256": "sha256",
    "revision": "Revision",
    "variant": "Variant",
}
FORM = {**{option: f"“{label}”" for option, label in FORM_LABELS.items()}, "subfolder": "a “:subfolder” after the Source's repo id"}


class InstallError(DomainError):
    """The model could not be installed; nothing was left in the library. The message says why.

    One that names the install's options is made by ``naming(template, **values)``: its template
    names them as ``{force}``, ``{name}`` …, filled in with COMMAND_LINE for ``str()`` and with
    another wording by ``worded``."""

    template = ""
    values: dict[str, object] = {}

    @classmethod
    def naming(cls, template: str, **values: object) -> InstallError:
        error = cls(template.format(**COMMAND_LINE, **values))
        error.template, error.values = template, values
        return error

    def worded(self, options: dict[str, str]) -> str:
        """The message with the options called as ``options`` says (FORM: the admin form's controls)."""
        return self.template.format(**{**COMMAND_LINE, **options}, **self.values) if self.template else self.message


class NoLibrary(InstallError):
    """GARDEN_MODELS_DIR is empty: there is nowhere to install into (and no staging folder to report in)."""

    def __init__(self) -> None:
        super().__init__(
            "GARDEN_MODELS_DIR is empty: there is no model library to install into. Set it to the models folder "
            "(docs/models.md) and restart; GARDEN_DIFFUSION_MODEL alone needs no install."
        )
