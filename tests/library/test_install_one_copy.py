"""The library keeps one copy of a file (issue 79, item 6): a download whose sha256 turns out to be a
file the library has under another name is refused once downloaded and removed, --force or not; the
command's messages name its flags, and the same refusals name the admin form's controls."""

from __future__ import annotations

import hashlib

import pytest
from django.utils import translation

from curation.admin.library_install import InstallForm
from library.models import LibraryEntry
from library.services import install as installer
from tests.library.test_install_model import fails, files, library, lora_bytes, run  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def test_a_download_the_library_has_under_another_name_is_refused_and_removed(library, files):  # noqa: F811
    body = lora_bytes()
    sha = hashlib.sha256(body).hexdigest()
    run(files.add("/a/ink-wash.safetensors", body=body))
    copy = files.add("/b/copy-of-ink.safetensors", body=body)  # no sha256 typed: known only once downloaded

    message = fails(copy)

    assert message == (
        f"{copy}: not installed, the library has this file already as ink-wash (lora, loras/ink-wash.safetensors; "
        f"sha256 {sha}); the download was removed."
    )
    assert files.files["/b/copy-of-ink.safetensors"].requests == [""]  # downloaded, then refused
    assert sorted(path.name for path in (library / ".incoming").iterdir()) == []
    assert not (library / "loras" / "copy-of-ink.safetensors").exists()
    assert list(LibraryEntry.objects.values_list("name", "sha256")) == [("ink-wash", sha)]

    assert fails(copy, "--force") == message  # --force replaces a model of the same name: never a second copy
    again = files.add("/c/ink-wash.safetensors", body=body)
    run(again, "--force")  # the same name and the same file: replaced, still one copy
    assert list(LibraryEntry.objects.values_list("name", "source")) == [("ink-wash", again)]


def test_a_model_file_is_called_a_model_when_refused(library, tmp_path):  # noqa: F811
    from tests.library.test_library_follow import write_checkpoint

    checkpoint = write_checkpoint(tmp_path / "usb" / "garden15.safetensors")
    output = run(str(checkpoint))
    assert output.startswith("installed model (checkpoint) garden15.safetensors") and "\nmodel     garden15:" in output
    copy = tmp_path / "usb" / "renamed.safetensors"
    copy.write_bytes(checkpoint.read_bytes())
    assert "the library has this file already as garden15 (model, garden15.safetensors;" in fails(str(copy))


def test_messages_name_the_command_flags_or_the_forms_controls(library, tmp_path):  # noqa: F811
    (library / "loras").mkdir()
    (library / "loras" / "ink.safetensors").write_bytes(lora_bytes())
    with pytest.raises(installer.InstallError) as caught:
        installer.precheck_source("https://example.org/ink.safetensors", kind="lora")
    refused = caught.value
    assert str(refused) == (
        "loras/ink.safetensors is already installed; nothing downloaded (--force replaces it, --name installs it beside)."
    )
    assert refused.worded(installer.FORM) == (
        "loras/ink.safetensors is already installed; nothing downloaded "
        "(“Replace an installed model of the same name” replaces it, “Name” installs it beside)."
    )
    form = InstallForm()
    with translation.override("en"):  # the words the messages quote are the form's own labels
        assert {option: str(form.fields[option].label) for option in installer.FORM_LABELS} == installer.FORM_LABELS
