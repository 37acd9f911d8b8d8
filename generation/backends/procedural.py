"""The procedural painter: a garden picture with no model weights.

Palette and composition follow the emotion; the favorite ("season,weather,time" or a single
word) sets sky, weather and ground; the seed fixes every random choice, so the same inputs
always paint the same picture at any size.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

GENERATOR_NAME = "procedural"
MODEL_ID = "procedural-painter-v1"

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Mood:
    flowers: tuple[RGB, ...]
    hills: tuple[RGB, RGB]
    density: float  # flowers per 10k px² of foreground
    petals: int
    droop: float  # 0 upright … 1 hanging (sad)
    spiky: bool


MOODS: dict[str, Mood] = {
    "happy": Mood(((255, 200, 40), (255, 140, 60), (255, 105, 150), (255, 240, 120)), ((120, 190, 80), (70, 150, 60)), 1.4, 6, 0.0, False),
    "surprised": Mood(((230, 50, 200), (40, 210, 230), (255, 230, 0), (255, 90, 90)), ((90, 200, 150), (40, 150, 120)), 1.2, 8, 0.0, True),
    "calm": Mood(
        ((170, 190, 255), (200, 170, 240), (240, 240, 255), (150, 210, 230)), ((130, 180, 150), (90, 140, 130)), 0.7, 5, 0.1, False
    ),
    "angry": Mood(((200, 20, 30), (120, 0, 20), (255, 80, 0), (60, 10, 10)), ((90, 60, 50), (50, 30, 30)), 1.0, 7, 0.0, True),
    "fear": Mood(((90, 60, 140), (40, 30, 80), (150, 150, 170), (70, 100, 90)), ((50, 70, 60), (25, 35, 40)), 0.6, 5, 0.4, True),
    "confused": Mood(
        ((0, 170, 160), (250, 130, 30), (160, 80, 200), (230, 220, 60)), ((110, 160, 110), (160, 120, 80)), 1.0, 6, 0.3, False
    ),
    "disgusted": Mood(((150, 160, 40), (200, 180, 60), (110, 120, 30), (170, 120, 60)), ((110, 120, 50), (80, 80, 40)), 0.9, 5, 0.5, False),
    "sad": Mood(((110, 130, 170), (150, 160, 190), (90, 100, 130), (180, 180, 200)), ((100, 120, 120), (70, 85, 95)), 0.5, 5, 0.9, False),
}

SKIES: dict[str, tuple[RGB, RGB]] = {
    "day": ((90, 160, 235), (200, 230, 250)),
    "sunset": ((70, 60, 140), (255, 150, 90)),
    "the-early-dawn": ((120, 120, 180), (255, 210, 180)),
    "the-middle-of-the-night": ((8, 12, 40), (30, 40, 90)),
}
DEFAULT_TIME = {"sad": "the-early-dawn", "fear": "the-middle-of-the-night", "angry": "sunset", "calm": "the-early-dawn"}
SEASON_GROUND: dict[str, RGB] = {"spring": (140, 200, 110), "summer": (70, 150, 60), "autumn": (190, 120, 50), "winter": (235, 240, 245)}
SEASONS, WEATHERS = set(SEASON_GROUND), {"cloudy", "rainy", "snowy", "sunny"}


@dataclass(frozen=True)
class Scene:
    season: str
    weather: str
    time: str
    accent: RGB | None  # single-word favorites ("cat") tint the flowers


def parse_favorite(emotion: str, favorite: str) -> Scene:
    words = [word.strip() for word in favorite.split(",") if word.strip()]
    season = next((w for w in words if w in SEASONS), "")
    weather = next((w for w in words if w in WEATHERS), "")
    time = next((w for w in words if w in SKIES), "")
    free = [w for w in words if w not in SEASONS | WEATHERS | set(SKIES)]
    accent = None
    if free:
        digest = hashlib.sha256(",".join(free).encode()).digest()
        accent = (digest[0], digest[1], digest[2])
    return Scene(season=season, weather=weather, time=time or DEFAULT_TIME.get(emotion, "day"), accent=accent)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(int(a[i] + (b[i] - a[i]) * t) for i in range(3))


def _vertical_gradient(width: int, height: int, top: RGB, bottom: RGB) -> Image.Image:
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    colors = np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t
    return Image.fromarray(np.broadcast_to(colors, (height, width, 3)).astype(np.uint8), "RGB")


def paint(*, emotion: str, favorite: str = "", seed: int = 0, width: int = 1280, height: int = 800) -> Image.Image:
    """Paint a garden. Deterministic for (emotion, favorite, seed, width, height)."""
    if emotion not in MOODS:
        raise ValueError(f"unknown emotion {emotion!r}")
    if not (8 <= width <= 4096 and 8 <= height <= 4096):
        raise ValueError("width and height must be between 8 and 4096")
    rng = random.Random(f"{emotion}|{favorite}|{seed}")
    mood, scene = MOODS[emotion], parse_favorite(emotion, favorite)
    unit = min(width, height)

    sky_top, sky_bottom = SKIES[scene.time]
    if scene.weather in ("cloudy", "rainy"):
        sky_top, sky_bottom = _mix(sky_top, (120, 125, 135), 0.5), _mix(sky_bottom, (170, 175, 180), 0.5)
    picture = _vertical_gradient(width, height, sky_top, sky_bottom)
    draw = ImageDraw.Draw(picture, "RGBA")
    horizon = int(height * rng.uniform(0.45, 0.6))

    _paint_sky_lights(draw, rng, scene, width, horizon, unit)
    if scene.weather in ("cloudy", "rainy", "snowy"):
        dark = scene.weather == "rainy" or scene.time == "the-middle-of-the-night"
        _paint_clouds(draw, rng, width, horizon, unit, dark=dark)
    _paint_hills(draw, rng, mood, scene, width, height, horizon)
    picture = picture.filter(ImageFilter.GaussianBlur(radius=max(1, unit // 400)))
    draw = ImageDraw.Draw(picture, "RGBA")
    _paint_flowers(draw, rng, mood, scene, width, height, horizon, unit)
    if scene.weather == "rainy":
        _paint_rain(draw, rng, width, height, unit)
    elif scene.weather == "snowy" or scene.season == "winter":
        _paint_snow(draw, rng, width, height, unit, heavy=scene.weather == "snowy")
    return picture


def _paint_sky_lights(draw, rng, scene: Scene, width: int, horizon: int, unit: int) -> None:
    if scene.time == "the-middle-of-the-night":
        for _ in range(int(width * horizon / 4000)):
            x, y, r = rng.uniform(0, width), rng.uniform(0, horizon), rng.uniform(0.5, 1.8) * unit / 800
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 230, rng.randint(120, 255)))
        cx, cy, r = width * rng.uniform(0.6, 0.85), horizon * rng.uniform(0.2, 0.4), unit * 0.05
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(245, 240, 210, 255))
    elif scene.weather in ("", "sunny"):
        cx, cy = width * rng.uniform(0.15, 0.85), horizon * rng.uniform(0.25, 0.7 if scene.time != "day" else 0.4)
        color = (255, 240, 170) if scene.time == "day" else (255, 190, 120)
        for k in range(6, 0, -1):
            r = unit * 0.04 * (1 + k * 0.5)
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*color, 28))
        r = unit * 0.05
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*color, 255))


def _paint_clouds(draw, rng, width: int, horizon: int, unit: int, *, dark: bool) -> None:
    shade = (150, 155, 165) if dark else (245, 245, 250)
    for _ in range(rng.randint(4, 8)):
        cx, cy = rng.uniform(-0.1, 1.1) * width, rng.uniform(0.05, 0.6) * horizon
        for _ in range(rng.randint(4, 7)):
            rx, ry = unit * rng.uniform(0.05, 0.12), unit * rng.uniform(0.03, 0.06)
            ox, oy = rng.uniform(-2, 2) * rx, rng.uniform(-0.5, 0.5) * ry
            draw.ellipse((cx + ox - rx, cy + oy - ry, cx + ox + rx, cy + oy + ry), fill=(*shade, 200))


def _paint_hills(draw, rng, mood: Mood, scene: Scene, width: int, height: int, horizon: int) -> None:
    far, near = mood.hills
    if scene.season:
        far, near = _mix(far, SEASON_GROUND[scene.season], 0.55), _mix(near, SEASON_GROUND[scene.season], 0.65)
    if scene.time == "the-middle-of-the-night":
        far, near = _mix(far, (10, 15, 40), 0.6), _mix(near, (10, 15, 40), 0.55)
    layers = 3
    for layer in range(layers):
        color = _mix(far, near, layer / (layers - 1))
        base = horizon + (height - horizon) * layer * 0.22
        amplitude = (height - horizon) * rng.uniform(0.08, 0.2)
        phase, frequency = rng.uniform(0, math.tau), rng.uniform(1.0, 2.5)
        points = [(0, height)]
        for step in range(65):
            x = width * step / 64
            points.append((x, base - amplitude * (0.6 + 0.4 * math.sin(phase + frequency * math.tau * step / 64))))
        points.append((width, height))
        draw.polygon(points, fill=(*color, 255))


def _paint_flowers(draw, rng, mood: Mood, scene: Scene, width: int, height: int, horizon: int, unit: int) -> None:
    palette = list(mood.flowers)
    if scene.accent:
        palette.append(scene.accent)
    if scene.season == "autumn":
        palette = [_mix(color, (200, 110, 30), 0.35) for color in palette]
    area = width * (height - horizon)
    count = max(6, int(area / 10_000 * mood.density))
    flowers = sorted(
        ((rng.uniform(0, width), rng.uniform(horizon + (height - horizon) * 0.1, height * 1.02)) for _ in range(count)),
        key=lambda xy: xy[1],  # far flowers first, near ones painted over them
    )
    stem_color = (40, 100, 40, 255) if scene.season != "winter" else (70, 90, 70, 255)
    for x, y in flowers:
        depth = (y - horizon) / max(1, height - horizon)  # 0 far … 1 near
        size = unit * (0.008 + 0.03 * depth) * rng.uniform(0.7, 1.3)
        stem = size * rng.uniform(2.0, 3.5)
        lean = rng.uniform(-0.3, 0.3) + mood.droop * rng.choice((-1, 1)) * 0.9
        head_x, head_y = x + math.sin(lean) * stem, y - math.cos(lean) * stem * (1 - 0.5 * mood.droop)
        draw.line((x, y, head_x, head_y), fill=stem_color, width=max(1, int(size / 5)))
        color = rng.choice(palette)
        for petal in range(mood.petals):
            angle = math.tau * petal / mood.petals + rng.uniform(0, 0.3)
            reach = size * (1.3 if mood.spiky else 0.8)
            px, py = head_x + math.cos(angle) * reach * 0.6, head_y + math.sin(angle) * reach * 0.6
            if mood.spiky:
                tip = (head_x + math.cos(angle) * reach, head_y + math.sin(angle) * reach)
                side = size * 0.3
                draw.polygon(
                    [
                        tip,
                        (px + math.cos(angle + 1.57) * side, py + math.sin(angle + 1.57) * side),
                        (head_x, head_y),
                        (px + math.cos(angle - 1.57) * side, py + math.sin(angle - 1.57) * side),
                    ],
                    fill=(*color, 235),
                )
            else:
                r = size * 0.45
                draw.ellipse((px - r, py - r, px + r, py + r), fill=(*color, 225))
        core = size * 0.28
        draw.ellipse(
            (head_x - core, head_y - core, head_x + core, head_y + core),
            fill=(250, 220, 80, 255) if mood.droop < 0.5 else (120, 110, 90, 255),
        )


def _paint_rain(draw, rng, width: int, height: int, unit: int) -> None:
    length = unit * 0.04
    for _ in range(int(width * height / 2500)):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        draw.line((x, y, x - length * 0.3, y + length), fill=(200, 210, 230, 110), width=max(1, unit // 700))


def _paint_snow(draw, rng, width: int, height: int, unit: int, *, heavy: bool) -> None:
    for _ in range(int(width * height / (1500 if heavy else 6000))):
        x, y, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.8, 2.5) * unit / 800
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, 210))


class ProceduralBackend:
    """The painter behind the generator interface: no weights, reproducible per seed."""

    name = GENERATOR_NAME
    model_id = MODEL_ID
    scheduler_name = ""

    def load(self) -> None:
        return None

    def describe(self) -> dict:
        return {"generator": GENERATOR_NAME, "model_id": MODEL_ID}

    def generate(self, batch, *, on_step=None) -> list[Image.Image]:
        pictures = []
        for number, seed in enumerate(batch.seeds, start=1):
            pictures.append(paint(emotion=batch.emotion, favorite=batch.favorite, seed=seed, width=batch.width, height=batch.height))
            # No denoising steps here: report progress per picture, in step units, so the job's
            # progress and cancellation behave as with diffusers.
            if on_step is not None:
                on_step(batch.steps * number // len(batch.seeds))
        return pictures
