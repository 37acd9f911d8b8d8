"""The procedural painter's recipe: every parameter that emotion, favorite and seed decide.

A :class:`Recipe` is what the painter paints from. ``recipe_for(emotion, favorite, seed)`` derives
exactly the parameters the painter has always derived, so those pictures do not change; the
gardener (issue 22) breeds new ones with :func:`mutate` and :func:`crossover` and compares them
with :func:`distance`. The same recipe paints the same picture, at any size.

Bounds (checked on construction and by ``from_dict``):

========================  ======================================================================
palette                   1–8 RGB flower colours (each channel an int 0–255)
hill_color, ground_color  RGB of the farthest hill and of the nearest one (the ground)
stem_color                RGB of the flower stems
density                   0.1–3.0 flowers per 10k px² of foreground (moods use 0.5–1.4)
petals                    3–12 petals per flower
droop                     0.0 upright … 1.0 hanging; at 0.5 and above the flower cores turn dull
spiky                     pointed petals instead of round ones
sky_top, sky_bottom       RGB of the sky gradient
horizon                   0.3–0.75 of the height (derived ones are 0.45–0.6)
light                     "none", "sun" (high, pale), "low-sun" (dawn/sunset) or "moon" (with stars)
clouds                    0.0–2.0: how many cloud banks, 1.0 being an overcast day's 4–8
cloud_color               RGB of the clouds
rain, snow                0.0–2.0: 1.0 is a rainy day's rain or a snowy day's snow
layout_seed               1–200 characters: seeds the remaining random placement
========================  ======================================================================
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

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
LIGHTS = ("none", "sun", "low-sun", "moon")

# Derived horizons are drawn from this range with the layout seed's first draw.
DERIVED_HORIZON = (0.45, 0.6)
FLOAT_BOUNDS = {
    "density": (0.1, 3.0),
    "droop": (0.0, 1.0),
    "horizon": (0.3, 0.75),
    "clouds": (0.0, 2.0),
    "rain": (0.0, 2.0),
    "snow": (0.0, 2.0),
}
PETAL_BOUNDS = (3, 12)
PALETTE_SIZE = (1, 8)
SEED_LENGTH = (1, 200)
COLOR_FIELDS = ("hill_color", "ground_color", "stem_color", "sky_top", "sky_bottom", "cloud_color")


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


def mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(int(a[i] + (b[i] - a[i]) * t) for i in range(3))


def _check_color(name: str, value) -> None:
    if not (isinstance(value, tuple) and len(value) == 3 and all(type(c) is int and 0 <= c <= 255 for c in value)):
        raise ValueError(f"{name}: expected [r, g, b] with ints 0–255, got {value!r}")


@dataclass(frozen=True)
class Recipe:
    palette: tuple[RGB, ...]
    hill_color: RGB
    ground_color: RGB
    stem_color: RGB
    density: float
    petals: int
    droop: float
    spiky: bool
    sky_top: RGB
    sky_bottom: RGB
    horizon: float
    light: str
    clouds: float
    cloud_color: RGB
    rain: float
    snow: float
    layout_seed: str

    def __post_init__(self) -> None:
        if not (isinstance(self.palette, tuple) and PALETTE_SIZE[0] <= len(self.palette) <= PALETTE_SIZE[1]):
            raise ValueError(f"palette: expected {PALETTE_SIZE[0]}–{PALETTE_SIZE[1]} colours, got {self.palette!r}")
        for index, color in enumerate(self.palette):
            _check_color(f"palette[{index}]", color)
        for name in COLOR_FIELDS:
            _check_color(name, getattr(self, name))
        for name, (low, high) in FLOAT_BOUNDS.items():
            value = getattr(self, name)
            if type(value) is not float or not (low <= value <= high):
                raise ValueError(f"{name}: expected a float {low}–{high}, got {value!r}")
        if type(self.petals) is not int or not (PETAL_BOUNDS[0] <= self.petals <= PETAL_BOUNDS[1]):
            raise ValueError(f"petals: expected an int {PETAL_BOUNDS[0]}–{PETAL_BOUNDS[1]}, got {self.petals!r}")
        if type(self.spiky) is not bool:
            raise ValueError(f"spiky: expected true or false, got {self.spiky!r}")
        if self.light not in LIGHTS:
            raise ValueError(f"light: expected one of {', '.join(LIGHTS)}, got {self.light!r}")
        if not (isinstance(self.layout_seed, str) and SEED_LENGTH[0] <= len(self.layout_seed) <= SEED_LENGTH[1]):
            raise ValueError(f"layout_seed: expected a string of {SEED_LENGTH[0]}–{SEED_LENGTH[1]} characters, got {self.layout_seed!r}")

    def to_dict(self) -> dict:
        """JSON-ready: colours as [r, g, b] lists."""
        data = {field.name: getattr(self, field.name) for field in fields(self)}
        data["palette"] = [list(color) for color in self.palette]
        for name in COLOR_FIELDS:
            data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(cls, data) -> Recipe:
        """The recipe in ``data`` (as ``to_dict`` writes it); ValueError names the first bad field."""
        if not isinstance(data, dict):
            raise ValueError(f"recipe: expected an object, got {type(data).__name__}")
        names = [field.name for field in fields(cls)]
        missing, unknown = [n for n in names if n not in data], sorted(set(data) - set(names))
        if missing or unknown:
            raise ValueError(f"recipe: missing fields {missing}, unknown fields {unknown}")
        values = dict(data)

        def as_color(value):
            return tuple(value) if isinstance(value, list | tuple) else value

        if isinstance(values["palette"], list | tuple):
            values["palette"] = tuple(as_color(color) for color in values["palette"])
        for name in COLOR_FIELDS:
            values[name] = as_color(values[name])
        for name in FLOAT_BOUNDS:  # JSON writes 1.0 as 1.0, but hand-written recipes say 1
            if type(values[name]) is int:
                values[name] = float(values[name])
        return cls(**values)


def recipe_for(emotion: str, favorite: str = "", seed: int = 0) -> Recipe:
    """What the painter derives from emotion, favorite and seed (the pictures it always painted)."""
    if emotion not in MOODS:
        raise ValueError(f"unknown emotion {emotion!r}")
    mood, scene = MOODS[emotion], parse_favorite(emotion, favorite)
    night = scene.time == "the-middle-of-the-night"
    layout_seed = f"{emotion}|{favorite}|{seed}"

    sky_top, sky_bottom = SKIES[scene.time]
    if scene.weather in ("cloudy", "rainy"):
        sky_top, sky_bottom = mix(sky_top, (120, 125, 135), 0.5), mix(sky_bottom, (170, 175, 180), 0.5)
    if night:
        light = "moon"
    elif scene.weather in ("", "sunny"):
        light = "sun" if scene.time == "day" else "low-sun"
    else:
        light = "none"
    far, near = mood.hills
    if scene.season:
        far, near = mix(far, SEASON_GROUND[scene.season], 0.55), mix(near, SEASON_GROUND[scene.season], 0.65)
    if night:
        far, near = mix(far, (10, 15, 40), 0.6), mix(near, (10, 15, 40), 0.55)
    palette = list(mood.flowers)
    if scene.accent:
        palette.append(scene.accent)
    if scene.season == "autumn":
        palette = [mix(color, (200, 110, 30), 0.35) for color in palette]
    snow = 0.0
    if scene.weather != "rainy":
        snow = 1.0 if scene.weather == "snowy" else 0.25 if scene.season == "winter" else 0.0
    return Recipe(
        palette=tuple(palette),
        hill_color=far,
        ground_color=near,
        stem_color=(70, 90, 70) if scene.season == "winter" else (40, 100, 40),
        density=float(mood.density),
        petals=mood.petals,
        droop=float(mood.droop),
        spiky=mood.spiky,
        sky_top=sky_top,
        sky_bottom=sky_bottom,
        # The painter always spent the layout seed's first draw on the horizon; it still does.
        horizon=random.Random(layout_seed).uniform(*DERIVED_HORIZON),
        light=light,
        clouds=1.0 if scene.weather in ("cloudy", "rainy", "snowy") else 0.0,
        cloud_color=(150, 155, 165) if scene.weather == "rainy" or night else (245, 245, 250),
        rain=1.0 if scene.weather == "rainy" else 0.0,
        snow=snow,
        layout_seed=layout_seed,
    )


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _jitter(color: RGB, rng: random.Random, strength: float) -> RGB:
    return tuple(int(_clamp(round(c + rng.gauss(0.0, 1.0) * 40.0 * strength), 0, 255)) for c in color)


def mutate(recipe: Recipe, rng: random.Random, strength: float = 0.3) -> Recipe:
    """A nearby recipe: moves scale with ``strength`` (0 = the same recipe, 1 = bold), always in bounds."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength: expected 0–1, got {strength!r}")
    changes: dict = {name: _jitter(getattr(recipe, name), rng, strength) for name in COLOR_FIELDS}
    palette = [_jitter(color, rng, strength) for color in recipe.palette]
    # Rare structural moves, likelier with strength: a colour more or fewer, a new petal count…
    if rng.random() < 0.2 * strength and len(palette) < PALETTE_SIZE[1]:
        palette.append(_jitter(rng.choice(palette), rng, 1.0))
    if rng.random() < 0.2 * strength and len(palette) > PALETTE_SIZE[0]:
        palette.pop(rng.randrange(len(palette)))
    changes["palette"] = tuple(palette)
    for name, (low, high) in FLOAT_BOUNDS.items():
        value = getattr(recipe, name) + rng.gauss(0.0, 1.0) * 0.15 * (high - low) * strength
        changes[name] = float(_clamp(value, low, high))
    if rng.random() < 0.5 * strength:
        changes["petals"] = int(_clamp(recipe.petals + rng.choice((-1, 1)), *PETAL_BOUNDS))
    if rng.random() < 0.1 * strength:
        changes["spiky"] = not recipe.spiky
    if rng.random() < 0.1 * strength:
        changes["light"] = rng.choice([light for light in LIGHTS if light != recipe.light])
    # A new layout re-places every flower and cloud: the boldest move, so the rarest.
    if rng.random() < 0.1 * strength:
        changes["layout_seed"] = f"{rng.getrandbits(32):08x}"
    return replace(recipe, **changes)


def crossover(a: Recipe, b: Recipe, rng: random.Random) -> Recipe:
    """A child of two recipes: each colour blended or picked, each number blended, the rest picked."""

    def color(x: RGB, y: RGB) -> RGB:
        if rng.random() < 0.5:
            return x if rng.random() < 0.5 else y
        t = rng.random()
        return tuple(round(x[i] + (y[i] - x[i]) * t) for i in range(3))

    first, second = (a, b) if rng.random() < 0.5 else (b, a)  # whose palette length the child takes
    palette = tuple(
        color(first.palette[i], second.palette[i]) if i < len(second.palette) else first.palette[i] for i in range(len(first.palette))
    )
    changes: dict = {"palette": palette}
    changes.update({name: color(getattr(a, name), getattr(b, name)) for name in COLOR_FIELDS})
    for name, (low, high) in FLOAT_BOUNDS.items():
        x, y = getattr(a, name), getattr(b, name)
        changes[name] = float(_clamp(x + (y - x) * rng.random(), low, high))
    for name in ("petals", "spiky", "light", "layout_seed"):
        changes[name] = getattr(a if rng.random() < 0.5 else b, name)
    return replace(a, **changes)


def blend(parents: Sequence[Recipe], weights: Sequence[float]) -> Recipe:
    """A weighted blend of several recipes: the look between them, nearest the heaviest.

    Colours and numbers are weighted means, petals the rounded mean; spikiness and light go by
    weighted vote (ties to the earlier parent). The palette is the first parent's, each colour
    blended with the nearest colour of every parent, so palettes of different lengths and orders
    still blend colour by colour. The layout is the first parent's. A blend of one recipe, or of
    copies of one, is that recipe.

    Why: a child bred from one or two liked parents inherits their luck as well as their look; a
    blend of several, weighted by how well they did, keeps what they share (evolution strategies'
    weighted recombination), so the noise of each parent's likes averages out.
    """
    if not parents or len(parents) != len(weights):
        raise ValueError(f"blend: expected as many weights as parents, got {len(parents)} parents and {len(weights)} weights")
    if any(w < 0 for w in weights) or not sum(weights) > 0:
        raise ValueError(f"blend: weights must be ≥ 0 and not all 0, got {list(weights)}")
    first = parents[0]
    if all(parent == first for parent in parents):  # exactly, not up to the rounding of weighted means
        return first
    total = float(sum(weights))
    shares = [w / total for w in weights]

    def mean_color(colors: Sequence[RGB]) -> RGB:
        return tuple(int(_clamp(round(sum(s * c[i] for s, c in zip(shares, colors, strict=True))), 0, 255)) for i in range(3))

    def vote(values: list) -> object:
        tally: dict = {}
        for share, value in zip(shares, values, strict=True):
            tally[value] = tally.get(value, 0.0) + share
        return max(tally, key=lambda value: (tally[value], -values.index(value)))

    changes: dict = {
        "palette": tuple(
            mean_color([min(p.palette, key=lambda other: _color_distance(color, other)) for p in parents]) for color in first.palette
        )
    }
    changes.update({name: mean_color([getattr(p, name) for p in parents]) for name in COLOR_FIELDS})
    for name, (low, high) in FLOAT_BOUNDS.items():
        changes[name] = float(_clamp(sum(s * getattr(p, name) for s, p in zip(shares, parents, strict=True)), low, high))
    petals = round(sum(s * p.petals for s, p in zip(shares, parents, strict=True)))
    changes["petals"] = int(_clamp(petals, *PETAL_BOUNDS))
    changes["spiky"] = vote([p.spiky for p in parents])
    changes["light"] = vote([p.light for p in parents])
    return replace(first, **changes)


def _color_distance(x: RGB, y: RGB) -> float:
    return sum(abs(x[i] - y[i]) for i in range(3)) / (3 * 255)


def _palette_distance(x: tuple[RGB, ...], y: tuple[RGB, ...]) -> float:
    # Symmetric nearest-colour distance: order does not matter, a colour near any other counts.
    def one_way(p, q):
        return sum(min(_color_distance(c, d) for d in q) for c in p) / len(p)

    return (one_way(x, y) + one_way(y, x)) / 2


def distance(a: Recipe, b: Recipe) -> float:
    """0 (same look) … 1: each field's difference normalised to 0–1, averaged over the fields.

    ``layout_seed`` is left out: it moves flowers about but is nothing a visitor could prefer.
    """
    parts = [_palette_distance(a.palette, b.palette)]
    parts += [_color_distance(getattr(a, name), getattr(b, name)) for name in COLOR_FIELDS]
    parts += [abs(getattr(a, name) - getattr(b, name)) / (high - low) for name, (low, high) in FLOAT_BOUNDS.items()]
    parts.append(abs(a.petals - b.petals) / (PETAL_BOUNDS[1] - PETAL_BOUNDS[0]))
    parts += [float(a.spiky != b.spiky), float(a.light != b.light)]
    return sum(parts) / len(parts)
