"""The procedural painter: a garden picture with no model weights.

It paints from a recipe (generation.backends.recipes): palette, flowers, sky, horizon, clouds,
weather and a layout seed for the remaining random placement. Without one it derives the
recipe from the emotion (palette and composition), the favorite ("season,weather,time" or a
single word: sky, weather and ground) and the seed, so the same inputs always paint the same
picture at any size; so does the same recipe.
"""

from __future__ import annotations

import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from generation.backends import BackendError
from generation.backends.recipes import (  # noqa: F401 (re-exported: the painter's vocabulary lives in recipes)
    DEFAULT_TIME,
    MOODS,
    RGB,
    SEASON_GROUND,
    SEASONS,
    SKIES,
    WEATHERS,
    Mood,
    Recipe,
    Scene,
    mix,
    parse_favorite,
    recipe_for,
)

GENERATOR_NAME = "procedural"
MODEL_ID = "procedural-painter-v1"
SUNS = {"sun": ((255, 240, 170), 0.4), "low-sun": ((255, 190, 120), 0.7)}  # colour, lowest height (of the sky)


def _vertical_gradient(width: int, height: int, top: RGB, bottom: RGB) -> Image.Image:
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    colors = np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t
    return Image.fromarray(np.broadcast_to(colors, (height, width, 3)).astype(np.uint8), "RGB")


def paint(*, emotion: str, favorite: str = "", seed: int = 0, width: int = 1280, height: int = 800) -> Image.Image:
    """Paint a garden. Deterministic for (emotion, favorite, seed, width, height)."""
    return paint_recipe(recipe_for(emotion, favorite, seed), width=width, height=height)


def paint_recipe(recipe: Recipe, *, width: int = 1280, height: int = 800) -> Image.Image:
    """Paint a garden from its recipe. Deterministic for (recipe, width, height)."""
    if not (8 <= width <= 4096 and 8 <= height <= 4096):
        raise ValueError("width and height must be between 8 and 4096")
    rng = random.Random(recipe.layout_seed)
    rng.random()  # the draw that once chose the horizon: spent, so every later placement stays put
    unit = min(width, height)

    picture = _vertical_gradient(width, height, recipe.sky_top, recipe.sky_bottom)
    draw = ImageDraw.Draw(picture, "RGBA")
    horizon = int(height * recipe.horizon)

    _paint_sky_lights(draw, rng, recipe.light, width, horizon, unit)
    if recipe.clouds > 0:
        _paint_clouds(draw, rng, width, horizon, unit, amount=recipe.clouds, shade=recipe.cloud_color)
    _paint_hills(draw, rng, recipe, width, height, horizon)
    picture = picture.filter(ImageFilter.GaussianBlur(radius=max(1, unit // 400)))
    draw = ImageDraw.Draw(picture, "RGBA")
    _paint_flowers(draw, rng, recipe, width, height, horizon, unit)
    if recipe.rain > 0:
        _paint_rain(draw, rng, width, height, unit, amount=recipe.rain)
    if recipe.snow > 0:
        _paint_snow(draw, rng, width, height, unit, amount=recipe.snow)
    return picture


def _paint_sky_lights(draw, rng, light: str, width: int, horizon: int, unit: int) -> None:
    if light == "moon":
        for _ in range(int(width * horizon / 4000)):
            x, y, r = rng.uniform(0, width), rng.uniform(0, horizon), rng.uniform(0.5, 1.8) * unit / 800
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 230, rng.randint(120, 255)))
        cx, cy, r = width * rng.uniform(0.6, 0.85), horizon * rng.uniform(0.2, 0.4), unit * 0.05
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(245, 240, 210, 255))
    elif light in SUNS:
        color, lowest = SUNS[light]
        cx, cy = width * rng.uniform(0.15, 0.85), horizon * rng.uniform(0.25, lowest)
        for k in range(6, 0, -1):
            r = unit * 0.04 * (1 + k * 0.5)
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*color, 28))
        r = unit * 0.05
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*color, 255))


def _paint_clouds(draw, rng, width: int, horizon: int, unit: int, *, amount: float, shade) -> None:
    # The 4–8 banks are drawn first whatever the amount, so amount 1.0 places an overcast day's clouds.
    for _ in range(round(rng.randint(4, 8) * amount)):
        cx, cy = rng.uniform(-0.1, 1.1) * width, rng.uniform(0.05, 0.6) * horizon
        for _ in range(rng.randint(4, 7)):
            rx, ry = unit * rng.uniform(0.05, 0.12), unit * rng.uniform(0.03, 0.06)
            ox, oy = rng.uniform(-2, 2) * rx, rng.uniform(-0.5, 0.5) * ry
            draw.ellipse((cx + ox - rx, cy + oy - ry, cx + ox + rx, cy + oy + ry), fill=(*shade, 200))


def _paint_hills(draw, rng, recipe: Recipe, width: int, height: int, horizon: int) -> None:
    far, near = recipe.hill_color, recipe.ground_color
    layers = 3
    for layer in range(layers):
        color = mix(far, near, layer / (layers - 1))
        base = horizon + (height - horizon) * layer * 0.22
        amplitude = (height - horizon) * rng.uniform(0.08, 0.2)
        phase, frequency = rng.uniform(0, math.tau), rng.uniform(1.0, 2.5)
        points = [(0, height)]
        for step in range(65):
            x = width * step / 64
            points.append((x, base - amplitude * (0.6 + 0.4 * math.sin(phase + frequency * math.tau * step / 64))))
        points.append((width, height))
        draw.polygon(points, fill=(*color, 255))


def _paint_flowers(draw, rng, recipe: Recipe, width: int, height: int, horizon: int, unit: int) -> None:
    palette = list(recipe.palette)
    area = width * (height - horizon)
    count = max(6, int(area / 10_000 * recipe.density))
    flowers = sorted(
        ((rng.uniform(0, width), rng.uniform(horizon + (height - horizon) * 0.1, height * 1.02)) for _ in range(count)),
        key=lambda xy: xy[1],  # far flowers first, near ones painted over them
    )
    stem_color = (*recipe.stem_color, 255)
    for x, y in flowers:
        depth = (y - horizon) / max(1, height - horizon)  # 0 far … 1 near
        size = unit * (0.008 + 0.03 * depth) * rng.uniform(0.7, 1.3)
        stem = size * rng.uniform(2.0, 3.5)
        lean = rng.uniform(-0.3, 0.3) + recipe.droop * rng.choice((-1, 1)) * 0.9
        head_x, head_y = x + math.sin(lean) * stem, y - math.cos(lean) * stem * (1 - 0.5 * recipe.droop)
        draw.line((x, y, head_x, head_y), fill=stem_color, width=max(1, int(size / 5)))
        color = rng.choice(palette)
        for petal in range(recipe.petals):
            angle = math.tau * petal / recipe.petals + rng.uniform(0, 0.3)
            reach = size * (1.3 if recipe.spiky else 0.8)
            px, py = head_x + math.cos(angle) * reach * 0.6, head_y + math.sin(angle) * reach * 0.6
            if recipe.spiky:
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
            fill=(250, 220, 80, 255) if recipe.droop < 0.5 else (120, 110, 90, 255),
        )


def _paint_rain(draw, rng, width: int, height: int, unit: int, *, amount: float) -> None:
    length = unit * 0.04
    for _ in range(int(width * height * amount / 2500)):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        draw.line((x, y, x - length * 0.3, y + length), fill=(200, 210, 230, 110), width=max(1, unit // 700))


def _paint_snow(draw, rng, width: int, height: int, unit: int, *, amount: float) -> None:
    # amount 1.0 is a snowy day's flakes (one per 1500 px²); a winter's day without snowfall is 0.25.
    for _ in range(int(width * height * amount / 1500)):
        x, y, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.8, 2.5) * unit / 800
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, 210))


def batch_recipes(batch) -> list[Recipe] | None:
    """The recipes ``batch.extra`` asks for, one per seed: ``recipe`` (for all) or ``recipes`` (each)."""
    try:
        if batch.extra.get("recipes") is not None:
            given = batch.extra["recipes"]
            if not isinstance(given, list) or len(given) != len(batch.seeds):
                raise ValueError(f"recipes: expected a list of {len(batch.seeds)} (one per seed)")
            return [Recipe.from_dict(data) for data in given]
        if batch.extra.get("recipe") is not None:
            return [Recipe.from_dict(batch.extra["recipe"])] * len(batch.seeds)
    except ValueError as exc:
        raise BackendError(f"Bad recipe: {exc}") from None
    return None


class ProceduralBackend:
    """The painter behind the generator interface: no weights, reproducible per seed (or recipe)."""

    name = GENERATOR_NAME
    model_id = MODEL_ID
    scheduler_name = ""

    def __init__(self) -> None:
        self._recipes: list[Recipe] | None = None  # the last batch's, when it came with recipes

    def load(self) -> None:
        return None

    def describe(self) -> dict:
        """The last batch's parameters; its recipe when one recipe painted every picture of it."""
        description = {"generator": GENERATOR_NAME, "model_id": MODEL_ID}
        if self._recipes and all(recipe == self._recipes[0] for recipe in self._recipes):
            description["recipe"] = self._recipes[0].to_dict()
        return description

    def describe_picture(self, index: int) -> dict:
        """The parameters of the last batch's picture ``index``: with its recipe, when it had one."""
        description = {"generator": GENERATOR_NAME, "model_id": MODEL_ID}
        if self._recipes:
            description["recipe"] = self._recipes[index].to_dict()
        return description

    def safety_flags(self, pictures) -> list[bool | None]:
        """No model, so no model's own safety checker: open_nsfw alone checks these."""
        return [None] * len(pictures)

    def generate(self, batch, *, on_step=None) -> list[Image.Image]:
        recipes = batch_recipes(batch)
        self._recipes = recipes
        pictures = []
        for number, seed in enumerate(batch.seeds, start=1):
            recipe = recipes[number - 1] if recipes else recipe_for(batch.emotion, batch.favorite, seed)
            pictures.append(paint_recipe(recipe, width=batch.width, height=batch.height))
            # No denoising steps here: report progress per picture, in step units, so the job's
            # progress and cancellation behave as with diffusers.
            if on_step is not None:
                on_step(batch.steps * number // len(batch.seeds))
        return pictures
