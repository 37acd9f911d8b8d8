"""The screens' browser tests film the astronaut through the kiosk tests' fake camera."""

from tests.kiosk.conftest import browser_context_args, browser_launch_args, face_video, page  # noqa: F401 (fixtures)
