"""Place, indoors or outdoors, day or night, on real photos and real video frames labelled by looking at them."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from conftest import NARRATED_CLIP, ffmpeg
from videodesc.vision.place import (PLACE_CLASSES, PLACE_FAMILIES, PLACE_WORDS, PlaceReading, measure, place_from,
                                    read_place, setting_from)
from videodesc.vision.scene import SceneTagger, class_names


@dataclass(frozen=True)
class Label:
    """What a person sees in the frame. None: the frame does not show it, so saying anything is wrong."""
    source: str  # a photo in the samples folder, "bbb@T" or "clip@T" (seconds), or "NAME*F" (darkened by F)
    places: frozenset[str] | None  # the place keys that are right
    setting: str | None
    light: str | None
    note: str


def _label(source: str, places: str, setting: str, light: str, note: str) -> Label:
    none = lambda text: None if text == "-" else text
    return Label(source, frozenset(places.split(",")) if places != "-" else None, none(setting), none(light), note)


# Labelled by looking at each frame (Big Buck Bunny frames at whole seconds, as ffmpeg seeks them).
# The film is a cartoon set outdoors by day throughout; its forest, meadow and burrow shots are
# outdoors even where no sky shows. A darkened copy of a day photo is still a day scene: saying
# "day" of it is right, "night" is wrong (the dark is the camera's, not the hour's). A fade from
# black is the same. Credits, title cards and the narrated clip's flat graphics show no place.
LABELS: tuple[Label, ...] = tuple(_label(*row) for row in (
    ("astronaut.png", "-", "indoor", "-", "studio portrait, flag and model shuttle behind"),
    ("coffee.png", "-", "-", "-", "close-up of a cup on a wooden table"),
    ("chelsea.png", "-", "-", "-", "close-up of a cat"),
    ("camera.png", "-", "outdoor", "day", "grey photo: a cameraman on a lawn, bright sky, towers far off"),
    ("bus.jpg", "street,road", "outdoor", "day", "a bus at a stop in a sunny street"),
    ("zidane.jpg", "-", "-", "-", "two men in suits before a blurred crowd"),
    ("biden.jpg", "-", "indoor", "-", "a man in a formal room, curtains"),
    ("obama3.jpg", "-", "indoor", "-", "a man in a room with a chandelier"),
    ("basketball1.png", "-", "indoor", "-", "grey photo: two men in an office corridor"),
    ("messi5.jpg", "-", "outdoor", "-", "a footballer on a pitch before the stands"),
    ("person.jpg", "field", "outdoor", "day", "a man, a dog and a horse on grassland, hills, cloudy sky"),
    ("cold_water.jpg", "shore", "outdoor", "day", "people in the sea at a beach, overcast"),
    ("anne_helene.jpg", "shore", "outdoor", "day", "a woman sitting on a sandy beach"),
    ("bbb@7", "field", "outdoor", "day", "meadow, trees, pink morning sky"),
    ("bbb@17", "-", "outdoor", "day", "a bird on a branch against the sky"),
    ("bbb@37", "-", "outdoor", "day", "the burrow's mouth in a sunny grass bank, dark inside"),
    ("bbb@57", "-", "outdoor", "day", "sky with a cloud, the bunny's ears at the bottom"),
    ("bbb@92", "field", "outdoor", "day", "the bunny on a meadow, trees, blue sky"),
    ("bbb@112", "field", "outdoor", "day", "the bunny close, meadow and pink sky behind"),
    ("bbb@132", "field", "outdoor", "day", "the bunny and a squirrel by a tree trunk, meadow"),
    ("bbb@157", "field", "outdoor", "day", "the bunny standing on a meadow"),
    ("bbb@187", "-", "outdoor", "day", "a squirrel and a butterfly close, sky"),
    ("bbb@252", "-", "outdoor", "day", "the bunny in the forest, close"),
    ("bbb@277", "-", "outdoor", "day", "forest floor close-up"),
    ("bbb@302", "field", "outdoor", "day", "tall grass in front of trees"),
    ("bbb@337", "-", "outdoor", "day", "a squirrel blurred by motion against shadow"),
    ("bbb@352", "-", "outdoor", "day", "a tree wrapped in vines in the forest"),
    ("bbb@397", "-", "outdoor", "day", "a squirrel on a branch, sky and fir trees"),
    ("bbb@427", "-", "outdoor", "day", "a forest path"),
    ("bbb@462", "-", "outdoor", "day", "fading in from black on the forest edge (mean brightness 15 of 255)"),
    ("bbb@482", "-", "outdoor", "day", "a flying squirrel in the blue sky"),
    ("bbb@492", "-", "-", "-", "credits on a dark blue gradient"),
    ("bbb@542", "-", "-", "-", "credits, white text on black"),
    ("bbb@577", "-", "-", "-", "credits on a brown gradient"),
    ("bbb@587", "-", "outdoor", "day", "after the credits: a flying squirrel, sky and clouds"),
    ("clip@2", "-", "-", "-", "title card on grey"),
    ("clip@17", "-", "-", "-", "grey graphic of a teacher at a board"),
    ("clip@47", "-", "-", "-", "a globe with people around it on grey"),
    ("clip@77", "-", "-", "-", "a red disc on grey"),
    ("clip@117", "-", "-", "-", "a web form on white"),
    ("clip@147", "-", "-", "-", "grey circles on grey (indoor classes sum to 0.35 here)"),
    ("bus.jpg*0.3", "street,road", "outdoor", "day", "the bus photo darkened to 30%"),
    ("bbb@92*0.3", "field", "outdoor", "day", "the meadow frame darkened to 30%"),
    ("camera.png*0.3", "-", "outdoor", "day", "the cameraman photo darkened to 30%"),
))


@pytest.fixture(scope="module")
def tagger() -> SceneTagger:
    return SceneTagger()


@pytest.fixture(scope="module")
def frames(samples, tmp_path_factory) -> dict[str, np.ndarray]:
    """Every labelled image, by its source name: photos read, video frames extracted as JPEG keyframes are."""
    folder = tmp_path_factory.mktemp("place_frames")
    images: dict[str, np.ndarray] = {}

    def load(source: str) -> np.ndarray:
        if source in images:
            return images[source]
        name, _, factor = source.partition("*")
        if factor:
            image = (load(name).astype(np.float32) * float(factor)).astype(np.uint8)
        elif "@" in name:
            video, _, seconds = name.partition("@")
            path = folder / f"{video}_{seconds}.jpg"
            ffmpeg("-ss", seconds, "-i", str(samples / "bbb.mp4" if video == "bbb" else NARRATED_CLIP),
                   "-frames:v", "1", "-q:v", "3", str(path))
            image = cv2.imread(str(path))
        else:
            image = cv2.imread(str(samples / name))
        assert image is not None and image.size, source
        images[source] = image
        return image

    for label in LABELS:
        load(label.source)
    return images


@pytest.fixture(scope="module")
def readings(frames, tagger) -> dict[str, PlaceReading]:
    return {source: read_place(image, tagger.probabilities(image)) for source, image in frames.items()}


def test_the_tables_name_real_imagenet_classes_and_say_places_as_the_vocabulary_does():
    from videodesc.vision import place
    from videodesc.write.vocabulary import TAGS

    names = class_names()
    tables = place._tables()  # raises on a class name that is missing or ambiguous
    assert sum(len(found) for found in tables.place_of.values()) == len(PLACE_CLASSES)
    assert set(PLACE_WORDS) == {p for p, _ in PLACE_CLASSES.values()} | set(PLACE_FAMILIES)
    assert all(member in PLACE_WORDS for members in PLACE_FAMILIES.values() for member in members)
    assert not set(tables.indoor) & set(tables.outdoor)
    assert "classroom" not in names and "forest" not in names  # so these places are never said
    for label, term in TAGS.items():  # a place tag the writer may say is worded the same here
        if term.kind == "place":
            assert label in PLACE_CLASSES, label
            assert PLACE_WORDS[PLACE_CLASSES[label][0]].ko == term.ko, label


def test_the_probabilities_are_those_the_tags_come_from(samples, tagger):
    image = cv2.imread(str(samples / "coffee.png"))
    probabilities = tagger.probabilities(image)
    assert probabilities.shape == (1000,) and abs(float(probabilities.sum()) - 1.0) < 1e-4
    assert tagger.tag(image) == tagger.tags_from(probabilities)
    assert class_names()[int(np.argmax(probabilities))] == tagger.tag(image)[0].label == "espresso"


def test_a_sunny_street_with_a_bus_is_outdoors_by_day_on_a_road(readings):
    bus = readings["bus.jpg"]
    assert bus.setting is not None and bus.setting.value == "outdoor"
    assert bus.light is not None and bus.light.value == "day"
    # Police van 0.39 and minibus 0.28: neither is sure alone, both are road vehicles.
    assert bus.place is not None and bus.place.key == "road" and bus.place.ko == "도로"
    assert bus.place.classes[:2] == ("police van", "minibus") and bus.place.confidence >= 0.6


def test_cartoon_meadows_under_blue_sky_are_outdoors_by_day(readings):
    for source in ("bbb@92", "bbb@187", "bbb@397", "bbb@482"):
        reading = readings[source]
        assert reading.setting is not None and reading.setting.value == "outdoor", source
        assert reading.light is not None, source
        assert (reading.light.value, reading.light.evidence) == ("day", "blue sky"), source
    meadow = readings["bbb@157"]  # 0.53 rapeseed: a field of flowers to the network, a meadow to us
    assert meadow.place is not None and (meadow.place.key, meadow.place.en) == ("field", "a field")


def test_close_ups_credits_and_graphics_say_nothing(readings):
    for source in ("coffee.png", "chelsea.png", "zidane.jpg", "bbb@492", "bbb@542", "bbb@577",
                   "clip@2", "clip@17", "clip@77", "clip@147"):
        assert readings[source] == PlaceReading(None, None, None), source


def test_dark_pictures_are_not_night(frames, tagger):
    """Darkening dims the lamps with everything else; night needs a dark sky with bright lamps in it."""
    for source in ("bus.jpg", "bbb@92", "bbb@397", "camera.png"):
        for factor in (0.5, 0.25, 0.1):
            dark = (frames[source].astype(np.float32) * factor).astype(np.uint8)
            light = read_place(dark, tagger.probabilities(dark)).light
            assert light is None or light.value == "day", (source, factor)
    fade = read_place(frames["bbb@462"], tagger.probabilities(frames["bbb@462"]))
    assert fade.light is None and fade.setting is not None and fade.setting.value == "outdoor"
    black = np.zeros((720, 1280, 3), np.uint8)
    assert read_place(black, tagger.probabilities(black)) == PlaceReading(None, None, None)


def test_a_dark_blue_sky_over_lamps_is_night_but_the_same_sky_without_lamps_is_not(frames, tagger):
    """The rule itself on real pixels: the sky of a day frame dimmed to dusk, with and without lit windows.

    No package ships a real night photo that the samples include, so the positive case is built
    from a real frame and stated as such; the negatives are real frames.
    """
    from videodesc.vision.place import light_from

    dusk = (frames["bbb@397"].astype(np.float32) * 0.25).astype(np.uint8)
    pixels = measure(dusk)
    assert pixels.dark_blue_sky >= 0.6 and pixels.top_value <= 0.35 and pixels.lamps == 0.0
    assert light_from(pixels, None, indoor=0.0) is None  # dark blue sky, no lamps: not night
    lit = dusk.copy()
    height, width = lit.shape[:2]
    for x in range(width // 8, width, width // 6):  # a row of lit windows, 24x24 pixels each, low in the frame
        lit[int(height * 0.8):int(height * 0.8) + 24, x:x + 24] = 255
    night = light_from(measure(lit), None, indoor=0.0)
    assert night is not None and (night.value, night.evidence) == ("night", "dark sky over lamps")
    assert light_from(measure(lit), None, indoor=0.3) is None  # lamps in a room with furniture: not night


def test_indoor_needs_the_classes_and_no_sky(readings, frames, tagger):
    """No sample shows a room the network is sure of, so a hand-made probability vector (a four-poster
    bed) stands for one here, read with the pixels of real frames; real rooms were checked in
    calibration (a pool hall 0.99-1.00, a kitchen 0.51)."""
    # The narrated clip's graphic of grey circles reaches 0.35 indoor classes, below the 0.5 floor.
    assert readings["clip@147"].setting is None
    probabilities = tagger.probabilities(frames["bbb@92"])
    bedroom = np.zeros(1000)
    bedroom[class_names().index("four-poster")] = 0.9
    bedroom[class_names().index("quilt")] = 0.1
    place = place_from(bedroom)
    assert place is not None and (place.key, place.ko, place.confidence) == ("bedroom", "침실", 1.0)
    assert setting_from(bedroom, measure(frames["bbb@277"])).value == "indoor"  # no sky in a forest floor shot
    # Blue sky contradicts the classes: neither is said.
    assert setting_from(bedroom, measure(frames["bbb@92"])) is None
    assert setting_from(probabilities, measure(frames["bbb@92"])).value == "outdoor"


def test_a_place_that_contradicts_the_setting_is_not_said(frames):
    """A hand-made vector again (a stove: a kitchen) against a real frame full of blue sky."""
    kitchen = np.zeros(1000)
    kitchen[class_names().index("stove")] = 0.6
    reading = read_place(frames["bbb@92"], kitchen)  # a kitchen under blue sky: one of the two is wrong
    assert reading.place is None
    with pytest.raises(ValueError, match="1000 ImageNet class probabilities"):
        place_from(np.zeros(10))


def _score(readings: dict[str, PlaceReading]) -> dict[str, tuple[int, int, int]]:
    """Per fact kind: (claims, right claims, frames where the fact is visible)."""
    score = {"place": [0, 0, 0], "setting": [0, 0, 0], "light": [0, 0, 0]}
    for label in LABELS:
        reading = readings[label.source]
        said = {"place": reading.place.key if reading.place else None,
                "setting": reading.setting.value if reading.setting else None,
                "light": reading.light.value if reading.light else None}
        truth = {"place": label.places, "setting": label.setting, "light": label.light}
        for kind in score:
            if truth[kind] is None:
                right = False
            else:
                right = said[kind] in truth[kind] if kind == "place" else said[kind] == truth[kind]
            score[kind][0] += said[kind] is not None
            score[kind][1] += said[kind] is not None and right
            score[kind][2] += truth[kind] is not None
    return {kind: tuple(values) for kind, values in score.items()}


def test_precision_per_fact_kind_on_the_labelled_frames(readings):
    assert len(LABELS) >= 40
    score = _score(readings)
    report = {kind: f"{right}/{claims} right, recall {right}/{visible}"
              for kind, (claims, right, visible) in score.items()}
    print(f"\nplace facts on {len(LABELS)} labelled frames: {report}")
    for kind, (claims, right, visible) in score.items():
        assert claims > 0, kind
        assert right / claims >= 0.9, (kind, report)
    # Recall stays modest by design (say nothing unless sure): measured 3/12 places, 16/32 settings,
    # 13/27 lights. These floors catch a rule gone silent.
    assert score["place"][1] >= 2 and score["setting"][1] >= 12 and score["light"][1] >= 10

