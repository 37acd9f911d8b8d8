"""The procedural painter's recipes: today's pictures unchanged, recipes paint, mutate, cross and compare."""

import hashlib
import json
import random
from dataclasses import fields, replace

import pytest

from generation.backends import BackendError, Batch
from generation.backends.procedural import ProceduralBackend, paint, paint_recipe
from generation.backends.recipes import (
    COLOR_FIELDS,
    FLOAT_BOUNDS,
    LIGHTS,
    MOODS,
    PALETTE_SIZE,
    PETAL_BOUNDS,
    Recipe,
    blend,
    crossover,
    distance,
    mutate,
    recipe_for,
)

# Depends on no database, cache or broker of the run: CI runs it once, in the pass on the embedded defaults.
pytestmark = pytest.mark.backend_free

# Painted by the painter before recipes existed (commit 5879631): sha256 of the RGB bytes, first 16 hex.
PICTURES_BEFORE_RECIPES = [
    ("happy", "", 0, 64, 48, "8ce8353addf2eb69"),
    ("sad", "autumn,rainy,sunset", 7, 96, 64, "0e5291ff47fad6ac"),
    ("fear", "", 3, 80, 80, "be0357016eb7a28c"),
    ("calm", "winter,snowy,the-middle-of-the-night", 11, 120, 72, "41956980f91424c6"),
    ("angry", "summer,sunny,day", 5, 72, 96, "1b4c3cdef05d4c47"),
    ("surprised", "cat", 2, 64, 64, "bb53bbf22f5a6824"),
    ("confused", "spring,cloudy,the-early-dawn", 9, 100, 60, "ed62ad88e90ff2cf"),
    ("disgusted", "winter,day", 4, 90, 90, "b5c20dbc294a870a"),
    ("happy", "spring,snowy,day", 1, 160, 100, "dc45b1c9779ea2e1"),
    ("calm", "autumn,cloudy,the-middle-of-the-night,dog", 8, 128, 128, "d81e818b531141eb"),
    ("happy", "summer,rainy,day", 3, 320, 200, "480651bed9d09423"),
    ("sad", "", 42, 256, 384, "2246ef99d3355fcd"),
]


def picture_hash(picture) -> str:
    return hashlib.sha256(picture.tobytes()).hexdigest()[:16]


def batch(seeds, *, emotion="happy", favorite="spring,sunny,day", width=64, height=48, **extra) -> Batch:
    size = {"width": width, "height": height}
    return Batch(prompt="", negative_prompt="", steps=4, guidance=0.0, seeds=seeds, emotion=emotion, favorite=favorite, extra=extra, **size)


def assert_in_bounds(recipe: Recipe) -> None:
    assert PALETTE_SIZE[0] <= len(recipe.palette) <= PALETTE_SIZE[1]
    for color in [*recipe.palette, *(getattr(recipe, name) for name in COLOR_FIELDS)]:
        assert len(color) == 3 and all(type(c) is int and 0 <= c <= 255 for c in color)
    for name, (low, high) in FLOAT_BOUNDS.items():
        assert type(getattr(recipe, name)) is float and low <= getattr(recipe, name) <= high, name
    assert PETAL_BOUNDS[0] <= recipe.petals <= PETAL_BOUNDS[1]
    assert recipe.light in LIGHTS and isinstance(recipe.spiky, bool) and recipe.layout_seed


@pytest.mark.parametrize(("emotion", "favorite", "seed", "width", "height", "expected"), PICTURES_BEFORE_RECIPES)
def test_pictures_without_a_recipe_are_the_ones_painted_before_recipes(emotion, favorite, seed, width, height, expected):
    assert picture_hash(paint(emotion=emotion, favorite=favorite, seed=seed, width=width, height=height)) == expected
    [picture] = ProceduralBackend().generate(batch([seed], emotion=emotion, favorite=favorite, width=width, height=height))
    assert picture_hash(picture) == expected


def test_the_derived_recipe_paints_the_same_picture_after_a_json_round_trip():
    for emotion, favorite, seed, width, height, expected in PICTURES_BEFORE_RECIPES:
        recipe = Recipe.from_dict(json.loads(json.dumps(recipe_for(emotion, favorite, seed).to_dict())))
        assert recipe == recipe_for(emotion, favorite, seed)
        assert picture_hash(paint_recipe(recipe, width=width, height=height)) == expected


def test_recipe_for_reads_emotion_favorite_and_seed():
    night = recipe_for("calm", "winter,snowy,the-middle-of-the-night", 3)
    assert (night.light, night.clouds, night.snow, night.rain, night.cloud_color) == ("moon", 1.0, 1.0, 0.0, (150, 155, 165))
    rainy = recipe_for("happy", "autumn,rainy,sunset", 3)
    assert (rainy.light, rainy.rain, rainy.snow, rainy.stem_color) == ("none", 1.0, 0.0, (40, 100, 40))
    assert recipe_for("happy", "summer,sunny,day", 3).light == "sun" and recipe_for("sad", "", 3).light == "low-sun"
    assert len(recipe_for("happy", "cat", 1).palette) == len(MOODS["happy"].flowers) + 1  # the word's accent colour
    assert recipe_for("sad", "", 1).droop == 0.9 and recipe_for("surprised", "", 1).spiky
    assert 0.45 <= recipe_for("fear", "", 1).horizon <= 0.6
    assert recipe_for("fear", "", 1).layout_seed != recipe_for("fear", "", 2).layout_seed
    with pytest.raises(ValueError, match="unknown emotion"):
        recipe_for("bored", "", 1)


def test_the_same_recipe_paints_the_same_picture_at_any_size():
    recipe = mutate(recipe_for("confused", "autumn,cloudy,sunset", 5), random.Random(1), 1.0)
    for width, height in [(8, 8), (37, 211), (300, 120)]:
        first = paint_recipe(recipe, width=width, height=height)
        assert first.size == (width, height)
        assert first.tobytes() == paint_recipe(Recipe.from_dict(recipe.to_dict()), width=width, height=height).tobytes()
    with pytest.raises(ValueError, match="between 8 and 4096"):
        paint_recipe(recipe, width=7, height=64)


def test_every_field_changes_the_picture():
    base = replace(recipe_for("happy", "spring,cloudy,the-middle-of-the-night", 2), clouds=0.5, rain=0.5, snow=0.5)
    changed = {
        "palette": ((10, 10, 10),),
        "hill_color": (0, 0, 255),
        "ground_color": (255, 0, 0),
        "stem_color": (255, 0, 255),
        "density": 3.0,
        "petals": 12,
        "droop": 1.0,
        "spiky": True,
        "sky_top": (255, 255, 0),
        "sky_bottom": (0, 255, 0),
        "horizon": 0.3,
        "light": "sun",
        "clouds": 2.0,
        "cloud_color": (255, 0, 0),
        "rain": 2.0,
        "snow": 2.0,
        "layout_seed": "another",
    }
    assert set(changed) == {field.name for field in fields(Recipe)}
    before = paint_recipe(base, width=320, height=240).tobytes()
    for name, value in changed.items():
        assert paint_recipe(replace(base, **{name: value}), width=320, height=240).tobytes() != before, name


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("palette", [], "palette: expected 1–8 colours"),
        ("palette", [[1, 2, 3]] * 9, "palette: expected 1–8 colours"),
        ("palette", [[1, 2, 3], [1, 2, 256]], r"palette\[1\]"),
        ("hill_color", [1, 2], "hill_color"),
        ("sky_top", [1.5, 2, 3], "sky_top"),
        ("density", 3.5, "density: expected a float 0.1–3.0"),
        ("density", "1", "density"),
        ("horizon", float("nan"), "horizon"),
        ("petals", 2, "petals: expected an int 3–12"),
        ("petals", 5.0, "petals"),
        ("spiky", 1, "spiky"),
        ("light", "lamp", "light: expected one of none, sun, low-sun, moon"),
        ("layout_seed", "", "layout_seed"),
        ("snow", -0.1, "snow"),
    ],
)
def test_from_dict_names_the_bad_field(field, value, message):
    data = recipe_for("happy", "", 1).to_dict()
    data[field] = value
    with pytest.raises(ValueError, match=message):
        Recipe.from_dict(data)


def test_from_dict_names_missing_and_unknown_fields_and_takes_whole_numbers_for_floats():
    data = recipe_for("happy", "", 1).to_dict()
    del data["droop"]
    with pytest.raises(ValueError, match=r"missing fields \['droop'\], unknown fields \['glow'\]"):
        Recipe.from_dict({**data, "glow": 1})
    with pytest.raises(ValueError, match="recipe: expected an object"):
        Recipe.from_dict([1, 2])
    assert Recipe.from_dict({**recipe_for("happy", "", 1).to_dict(), "density": 2}).density == 2.0


def test_mutate_stays_in_bounds_is_deterministic_and_strength_zero_keeps_the_recipe():
    rng = random.Random(0)
    recipes = [recipe_for(emotion, favorite, seed) for emotion in MOODS for favorite in ("", "winter,rainy,sunset") for seed in (1, 2)]
    for _ in range(400):
        parent = rng.choice(recipes)
        strength = rng.choice((0.05, 0.3, 1.0))
        draw_seed = rng.random()
        child = mutate(parent, random.Random(draw_seed), strength)
        assert_in_bounds(child)
        assert mutate(parent, random.Random(draw_seed), strength) == child
        assert mutate(parent, random.Random(draw_seed), 0.0) == parent
        recipes.append(child)  # mutants of mutants too, so the edges of the bounds are reached
    assert any(recipe.petals in PETAL_BOUNDS for recipe in recipes) and any(recipe.horizon in FLOAT_BOUNDS["horizon"] for recipe in recipes)
    with pytest.raises(ValueError, match="strength"):
        mutate(recipes[0], random.Random(0), 1.5)


def test_small_mutations_stay_closer_than_bold_ones():
    parent = recipe_for("calm", "spring,day", 1)
    small = [distance(parent, mutate(parent, random.Random(n), 0.05)) for n in range(50)]
    bold = [distance(parent, mutate(parent, random.Random(n), 1.0)) for n in range(50)]
    assert sum(small) < sum(bold) / 4 and min(small) > 0.0


def test_crossover_stays_between_its_parents_is_deterministic_and_of_one_parent_is_that_parent():
    rng = random.Random(7)
    pool = [mutate(recipe_for(emotion, "autumn,snowy", seed), rng, 1.0) for emotion in MOODS for seed in range(4)]
    for _ in range(400):
        a, b = rng.choice(pool), rng.choice(pool)
        draw_seed = rng.random()
        child = crossover(a, b, random.Random(draw_seed))
        assert_in_bounds(child)
        assert crossover(a, b, random.Random(draw_seed)) == child
        assert crossover(a, a, random.Random(draw_seed)) == a
        for name in FLOAT_BOUNDS:
            low, high = sorted((getattr(a, name), getattr(b, name)))
            assert low <= getattr(child, name) <= high, name
        for name in ("petals", "spiky", "light", "layout_seed"):
            assert getattr(child, name) in (getattr(a, name), getattr(b, name)), name
        assert len(child.palette) in (len(a.palette), len(b.palette))
        pool.append(child)


def test_blend_is_a_weighted_mean_nearest_its_heaviest_parent_and_of_one_recipe_is_that_recipe():
    rng = random.Random(11)
    pool = [
        mutate(recipe_for(emotion, favorite, seed), rng, 1.0)
        for emotion in MOODS
        for favorite in ("", "winter,rainy,sunset")
        for seed in (1, 2)
    ]
    for _ in range(300):
        parents = rng.sample(pool, rng.choice((2, 3)))
        weights = [rng.uniform(0.1, 2.0) for _ in parents]
        child = blend(parents, weights)
        assert_in_bounds(child)
        assert blend(parents, weights) == child
        assert blend([parents[0]] * 3, weights[:1] * 3) == parents[0] == blend(parents[:1], [5.0])
        for name in FLOAT_BOUNDS:
            values = [getattr(parent, name) for parent in parents]
            assert min(values) <= getattr(child, name) <= max(values), name
            expected = sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights)
            assert getattr(child, name) == pytest.approx(expected), name
        assert min(p.petals for p in parents) <= child.petals <= max(p.petals for p in parents)
        assert child.spiky in {p.spiky for p in parents} and child.light in {p.light for p in parents}
        assert len(child.palette) == len(parents[0].palette) and child.layout_seed == parents[0].layout_seed
        pool.append(child)
    a, b = recipe_for("calm", "", 1), recipe_for("sad", "winter,rainy", 2)
    near_a, near_b = blend([a, b], [3.0, 1.0]), blend([a, b], [1.0, 3.0])
    assert distance(near_a, a) < distance(near_a, b) and distance(near_b, b) < distance(near_b, a)
    assert blend([a, b], [1.0, 0.0]).light == a.light and blend([b, a], [1.0, 1.0]).light == b.light  # a tie: the earlier
    for bad_weights in ([1.0], [0.0, 0.0], [1.0, -1.0]):
        with pytest.raises(ValueError, match="blend"):
            blend([a, b], bad_weights)


def test_distance_is_a_normalised_average_over_the_fields():
    a, b = recipe_for("happy", "summer,sunny,day", 1), recipe_for("fear", "winter,snowy,the-middle-of-the-night", 1)
    assert distance(a, a) == 0.0 and distance(a, b) == distance(b, a) and 0.0 < distance(a, b) < 1.0
    assert distance(a, replace(a, layout_seed="elsewhere")) == 0.0  # placement is no preference
    assert distance(a, replace(a, spiky=not a.spiky)) == pytest.approx(1 / 16)  # one of 16 parts, fully apart
    white, black = replace(a, palette=((255, 255, 255),)), replace(a, palette=((0, 0, 0), (0, 0, 0)))
    assert distance(white, black) == pytest.approx(1 / 16)
    assert distance(a, replace(a, density=a.density + 0.29)) == pytest.approx(0.29 / 2.9 / 16)


def test_the_backend_paints_a_recipe_for_the_whole_batch_and_describes_it():
    recipe = mutate(recipe_for("sad", "", 1), random.Random(3), 1.0)
    backend = ProceduralBackend()
    pictures = backend.generate(batch([1, 2], recipe=recipe.to_dict()))
    expected = paint_recipe(recipe, width=64, height=48).tobytes()
    assert [picture.tobytes() for picture in pictures] == [expected, expected]  # the recipe's seed places, not the batch's
    assert backend.describe() == {"generator": "procedural", "model_id": "procedural-painter-v1", "recipe": recipe.to_dict()}
    assert backend.describe_picture(1)["recipe"] == recipe.to_dict()

    backend.generate(batch([1]))
    assert backend.describe() == {"generator": "procedural", "model_id": "procedural-painter-v1"} == backend.describe_picture(0)


def test_the_backend_paints_one_recipe_per_seed():
    first, second = recipe_for("happy", "", 1), recipe_for("angry", "autumn,rainy", 9)
    backend, steps = ProceduralBackend(), []
    pictures = backend.generate(batch([5, 6], recipes=[first.to_dict(), second.to_dict()]), on_step=steps.append)
    assert [p.tobytes() for p in pictures] == [paint_recipe(r, width=64, height=48).tobytes() for r in (first, second)]
    assert steps == [2, 4]
    assert "recipe" not in backend.describe()  # two recipes: only each picture's description has one
    assert [backend.describe_picture(i)["recipe"] for i in (0, 1)] == [first.to_dict(), second.to_dict()]


def test_the_backend_refuses_bad_recipes_naming_the_field():
    good = recipe_for("happy", "", 1).to_dict()
    with pytest.raises(BackendError, match="Bad recipe: petals"):
        ProceduralBackend().generate(batch([1], recipe={**good, "petals": 40}))
    with pytest.raises(BackendError, match="recipes: expected a list of 2"):
        ProceduralBackend().generate(batch([1, 2], recipes=[good]))
