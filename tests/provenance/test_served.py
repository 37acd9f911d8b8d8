"""The marks where the public meets them: a picture a real job painted, promoted, then fetched the way
a visitor gets it (the share page's download link) and as the admin's thumbnail, read by exiftool
and by the watermark decoder."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from django.test import Client

from garden import services as garden_services
from garden.services import read_file
from generation import services
from generation.requests import JobRequest
from generation.worker import runner
from provenance import report

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed (apt-get install libimage-exiftool-perl)"),
]


def exiftool_source_type(tmp_path, content: bytes, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    result = subprocess.run(["exiftool", "-s3", "-XMP-iptcExt:DigitalSourceType", str(path)], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_a_served_picture_its_download_and_its_thumbnail_carry_the_marks(tmp_path):
    request = JobRequest(emotion="calm/spring,sunny,day", width=768, height=512, steps=2, count=1, backend="procedural")
    job = services.create_job(request=request, enqueue=False)
    assert runner.execute_job(job_id=job.pk).status == "succeeded"
    image = garden_services.promote_image(image=job.images.get())

    share = Client().get("/image", {"content": image.key})
    assert share.status_code == 200
    download = re.search(r'href="([^"]+)" download=', share.content.decode()).group(1)
    served = Client().get(download)
    assert served.status_code == 200
    content = b"".join(served.streaming_content) if served.streaming else served.content

    assert exiftool_source_type(tmp_path, content, "download.jpg").endswith("/algorithmicMedia")
    assert exiftool_source_type(tmp_path, read_file(image.thumbnail_key), "thumbnail.webp").endswith("/algorithmicMedia")
    assert report.describe(content)["watermark"]["found"]
