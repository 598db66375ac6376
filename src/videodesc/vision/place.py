"""Where a keyframe is and in what light: a place word, indoors or outdoors, day or night — each only when sure.

No scene classifier (Places365, CLIP) ships weights in any package, so the place is read from what
the ImageNet MobileNetV2 already computes for the scene tags: the probabilities of the few ImageNet
classes that are themselves places ("library", "seashore") or that are found in one kind of place
only ("four-poster" -> a bedroom, "street sign" -> a street). Summing a place's classes matters: a
street scene spreads its probability over "street sign", "traffic light" and "cab", none of them
sure alone. Indoors or outdoors sums two wider families of classes and adds blue sky seen at the top
of the frame. Day and night come from the pixels: blue sky, or a brightly lit outdoor scene, is day;
night needs a dark blue sky with lamps under it, which a merely dark picture (a fade, an
underexposed or darkened copy, a dim room) does not have.

Everything here is a pure function of one keyframe (BGR pixels) and its 1000-class probability
vector from `SceneTagger.probabilities`; the pixels are measured on a 160-pixel-wide copy, so a
reading costs about a millisecond beside the network pass it reuses.

Thresholds were set on about 220 real frames and photos, labelled by looking at them: Big Buck Bunny
every 5 s (a cartoon meadow and forest by day, a fade from black, the credits), the narrated Creative
Commons clip (flat grey, green and red graphics), the test photos, and, for calibration only, the
demo photos of the Debian packages kphotoalbum and opencv-doc and more scikit-image photos (a bar
and a pool hall at night, a sunset, a rocket on its pad at dusk, beaches, a canyon, a garage, the
Hubble deep field). Each threshold's comment says what it separates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np


@dataclass(frozen=True)
class PlaceWord:
    key: str
    en: str  # with its article, as it is said: "a restaurant", "the seashore"
    ko: str  # the bare noun; particles are attached by the grammar


@dataclass(frozen=True)
class Place:
    key: str
    en: str
    ko: str
    confidence: float  # the summed probability of the place's classes
    classes: tuple[str, ...]  # the classes that carried it, most probable first


@dataclass(frozen=True)
class Setting:
    value: Literal["indoor", "outdoor"]
    # From classes: their summed probability. From the sky: the share of the top third of the
    # frame that is sky. With both, the larger.
    confidence: float
    evidence: Literal["classes", "sky", "classes+sky"]


@dataclass(frozen=True)
class Light:
    value: Literal["day", "night"]
    confidence: float  # the share of the top third that shows the sky that decided it, or the outdoor confidence
    evidence: Literal["blue sky", "overcast sky", "bright outdoor scene", "dark sky over lamps"]


@dataclass(frozen=True)
class PlaceReading:
    place: Place | None
    setting: Setting | None
    light: Light | None


@dataclass(frozen=True)
class Pixels:
    """What the sky and light rules look at, measured on a small copy of the frame (values 0-1)."""
    blue_sky: float  # share of the top third that is bright, smooth, blue and joined to the top edge
    pale_sky: float  # the same for bright, smooth, colourless areas: an overcast sky, or a white wall
    dark_blue_sky: float  # the same for smooth blue at any brightness: a dusk or night sky
    sky_value: float  # mean brightness of the blue sky found (0 when none)
    top_value: float  # mean brightness (HSV value) of the top third
    median_value: float  # median brightness of the whole frame
    lamps: float  # share of pixels at nearly full brightness: lamps, lit windows, floodlights
    lamp_spots: int  # separate bright spots among them


_WIDTH = 160  # pixels: enough for the sky and lamps of a frame, cheap to measure


@dataclass
class PlaceSettings:
    # A place is said when its classes sum to this. At 0.5: the kite-beach photo is seashore 0.93,
    # a beach town 0.61, the Grand Canyon cliff 0.62, Big Buck Bunny's meadow a field (rapeseed)
    # 0.53; below it sat the wrong ones: an old brick street as a castle (0.30), a snowy airfield
    # as a breakwater (0.31), a palace-like house as a monastery (0.29).
    min_place: float = 0.5
    # A family ("a shop", "a road", "mountains") is said when no single member reaches min_place
    # but the members together reach this: kinds of shop look alike to the network, one is sure.
    min_family: float = 0.6
    # Outdoors from classes: their sum at 0.4 or more with indoor classes at 0.1 or less. Every
    # frame and photo above 0.4 was outdoors (cartoon meadows at 0.40-0.70, a street 0.78, a sunset
    # 0.78); the astronaut's studio portrait reached 0.31 only while "bobsled" (her helmet) counted.
    min_outdoor: float = 0.4
    # Indoors from classes: at 0.5 with outdoor classes at 0.1 or less and no blue sky. The flat
    # graphics of the narrated clip reach 0.35 (a kitchen of grey circles), the credits 0.12; a pool
    # hall is 0.99-1.00 "pool table", a kitchen with a fridge 0.51.
    min_indoor: float = 0.5
    max_other_side: float = 0.1
    # Blue sky over this share of the top third: outdoors, by day. Cartoon and real skies filled
    # 0.21-0.97 of it; no indoor photo, graphic or credit frame had any (dark blue credits are too
    # dim, blue curtains too textured).
    min_blue_sky: float = 0.2
    # Day from an overcast (colourless, bright) sky needs outdoor classes too: a white wall looks
    # the same (a rabbit hutch against one filled 0.60 of the top).
    min_pale_sky: float = 0.3
    # Day from a bright outdoor scene with no sky to see: median and top-third brightness at 0.45
    # or more (the bus street 0.52, the meadows 0.55-0.92); a sunset was 0.23, dusk at a rocket pad
    # 0.33, every darkened copy below 0.30.
    min_day_value: float = 0.45
    # Night: a smooth blue sky over most of the top third (0.6) that is dark (top third 0.35 or less,
    # whole frame median 0.35 or less), with lamps (at least 0.1% of the frame at nearly full
    # brightness, in two or more spots, but under 5%: more is daylight or a white graphic). The
    # rocket pad at dusk passes (sky 0.27, lamps 0.3% in 8 spots). A bar and a pool hall at night
    # have lamps but no sky (the indoor classes also veto); darkened or faded copies of day
    # frames have the dark sky but no lamps, since darkening dims the brightest pixels too; the
    # dark blue credits are too bright (0.44) and have no lamps.
    min_night_sky: float = 0.6
    max_night_value: float = 0.35
    min_lamps: float = 0.001
    max_lamps: float = 0.05
    min_lamp_spots: int = 2

    def as_key(self) -> dict:
        return dict(vars(self))


def _rows(table: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("|")] for line in table.strip().splitlines()]


# The place words. Wording follows write/vocabulary.py where it already names the place, so a
# place is said the same way whether it came from a top tag or from a sum here.
PLACE_WORDS: dict[str, PlaceWord] = {key: PlaceWord(key, en, ko) for key, en, ko in _rows("""
    restaurant | a restaurant | 식당
    library | a library | 도서관
    bookshop | a bookshop | 서점
    barbershop | a barbershop | 이발소
    butcher shop | a butcher's shop | 정육점
    confectionery | a sweet shop | 과자 가게
    grocery store | a grocery store | 식료품점
    toyshop | a toy shop | 장난감 가게
    shoe shop | a shoe shop | 신발 가게
    tobacco shop | a tobacconist's | 담배 가게
    bakery | a bakery | 빵집
    shop | a shop | 가게
    church | a church | 교회
    mosque | a mosque | 모스크
    monastery | a monastery | 수도원
    palace | a palace | 궁전
    castle | a castle | 성
    prison | a prison | 감옥
    cinema | a cinema | 영화관
    stage | a stage | 무대
    planetarium | a planetarium | 천문관
    greenhouse | a greenhouse | 온실
    barn | a barn | 헛간
    boathouse | a boathouse | 보트 창고
    gas station | a petrol station | 주유소
    patio | a patio | 테라스
    dock | a dock | 부두
    bridge | a bridge | 다리
    street | a street | 거리
    road | a road | 도로
    park | a park | 공원
    fountain | a fountain | 분수
    shore | the seashore | 바닷가
    lakeside | a lakeside | 호숫가
    valley | a valley | 골짜기
    cliff | a cliff | 절벽
    mountain | mountains | 산
    field | a field | 들판
    bedroom | a bedroom | 침실
    living room | a living room | 거실
    kitchen | a kitchen | 부엌
    bathroom | a bathroom | 욕실
    office | an office | 사무실
    gym | a gym | 체육관
""")}

# ImageNet class -> the place it implies, and whether that place is indoors ("in"), outdoors
# ("out") or either ("-"). Chosen by hand from the 1000 classes (scene.class_names()): a class is
# here only when a photo of it is, nearly always, a photo of that place. So "plate", "dining
# table", "bookcase", "desk" and "cup" are not places (they are in homes, offices and cafés alike);
# "four-poster" and "quilt" are beds seen in a bedroom; "stove", "dishwasher" and "microwave" stand
# in kitchens; "street sign", "traffic light", "parking meter", "streetcar", "trolleybus" and "cab"
# in streets; buses, vans and lorries on a road (a street is one too: see PLACE_FAMILIES).
# ImageNet has no classroom, office room, forest or railway station class, so those are never
# said ("photocopier" and "file", the filing cabinet, stand for an office). "church", "cinema",
# "prison", "planetarium" and "greenhouse" photos show the building from outside as often as the
# room inside, so they name the place but not the setting; "stage" also covers open-air stages.
PLACE_CLASSES: dict[str, tuple[str, str]] = {label: (place, setting) for label, place, setting in _rows("""
    restaurant | restaurant | in
    library | library | in
    bookshop | bookshop | in
    barbershop | barbershop | in
    barber chair | barbershop | in
    butcher shop | butcher shop | in
    confectionery | confectionery | in
    grocery store | grocery store | in
    toyshop | toyshop | in
    shoe shop | shoe shop | in
    tobacco shop | tobacco shop | in
    bakery | bakery | in
    church | church | -
    altar | church | in
    bell cote | church | out
    mosque | mosque | out
    monastery | monastery | out
    palace | palace | out
    castle | castle | out
    prison | prison | -
    cinema | cinema | -
    stage | stage | -
    theater curtain | stage | in
    planetarium | planetarium | -
    greenhouse | greenhouse | -
    barn | barn | out
    boathouse | boathouse | out
    gas pump | gas station | out
    patio | patio | out
    dock | dock | out
    pier | dock | out
    steel arch bridge | bridge | out
    suspension bridge | bridge | out
    viaduct | bridge | out
    street sign | street | out
    traffic light | street | out
    parking meter | street | out
    manhole cover | street | out
    streetcar | street | out
    trolleybus | street | out
    cab | street | out
    police van | road | out
    minibus | road | out
    school bus | road | out
    garbage truck | road | out
    tow truck | road | out
    trailer truck | road | out
    moving van | road | out
    fire engine | road | out
    ambulance | road | out
    park bench | park | out
    fountain | fountain | out
    seashore | shore | out
    sandbar | shore | out
    promontory | shore | out
    breakwater | shore | out
    lakeside | lakeside | out
    valley | valley | out
    cliff | cliff | out
    alp | mountain | out
    volcano | mountain | out
    rapeseed | field | out
    four-poster | bedroom | in
    quilt | bedroom | in
    crib | bedroom | in
    home theater | living room | in
    studio couch | living room | in
    entertainment center | living room | in
    stove | kitchen | in
    dishwasher | kitchen | in
    microwave | kitchen | in
    plate rack | kitchen | in
    bathtub | bathroom | in
    shower curtain | bathroom | in
    toilet seat | bathroom | in
    washbasin | bathroom | in
    medicine chest | bathroom | in
    photocopier | office | in
    file | office | in
    parallel bars | gym | in
    horizontal bar | gym | in
    balance beam | gym | in
""")}

# Kinds of place said when no member is sure alone but together they are: a photo that is 0.3
# toyshop and 0.3 confectionery is surely a shop; a bus that is 0.39 police van and 0.28 minibus is
# surely on a road (a street is a road, so a street's classes count towards it).
PLACE_FAMILIES: dict[str, tuple[str, ...]] = {
    "shop": ("bookshop", "barbershop", "butcher shop", "confectionery", "grocery store", "toyshop", "shoe shop",
             "tobacco shop", "bakery"),
    "road": ("road", "street"),
    "mountain": ("mountain", "valley"),
}

# Classes that say indoors or outdoors without naming a place; they add to the place classes'
# settings. Outdoors: structures seen from outside, fences, roofs, farm machines, boats, trains,
# aircraft. Not private cars (films shoot in them, motor shows are indoors), not two-wheelers
# (garages), not animals (pets live indoors; cartoon animals are anywhere), not "coral reef",
# "snorkel" or "scuba diver" (aquariums; they also fire on plain cartoon sky), not "bobsled" (it
# fired at 0.24 on the astronaut's studio portrait, for her helmet). Indoors: furniture and
# fittings of rooms and the appliances that stand in them. Not "screen", "monitor", "television",
# "web site" or "menu": that is what a title card, a credit roll or any flat graphic looks like to
# the network (Big Buck Bunny's credits are 0.6-0.9 "web site").
OUTDOOR_CLASSES: tuple[str, ...] = tuple(label.strip() for label in """
    megalith, obelisk, triumphal arch, totem pole, stupa, water tower, beacon, flagpole, maypole, sundial,
    cliff dwelling, yurt, mountain tent, apiary, birdhouse, mailbox, picket fence, worm fence, chainlink fence,
    stone wall, tile roof, thatch, dam, geyser, hay, lawn mower, rain barrel, solar dish, radio telescope,
    drilling platform, tractor, harvester, thresher, plow, oxcart, horse cart, jinrikisha, snowplow,
    snowmobile, dogsled, ski, steam locomotive, electric locomotive, bullet train, freight car,
    canoe, speedboat, yawl, schooner, catamaran, trimaran, gondola, fireboat, lifeboat, liner, container ship,
    aircraft carrier, paddlewheel, wreck, airliner, warplane, airship, parachute
""".split(","))
INDOOR_CLASSES: tuple[str, ...] = tuple(label.strip() for label in """
    bassinet, cradle, wardrobe, chiffonier, china cabinet, bookcase, desk, dining table, throne, pool table,
    window shade, shoji, bannister, radiator, wall clock, table lamp, lampshade, space heater, vacuum,
    sewing machine, washer, refrigerator, toaster, Crock Pot, waffle iron, espresso maker, soap dispenser,
    toilet tissue, pillow, prayer rug, printer, desktop computer, computer keyboard, typewriter keyboard,
    grand piano, upright, organ
""".split(","))


@dataclass(frozen=True)
class _Tables:
    place_of: dict[str, np.ndarray]  # place key -> the output indices of its classes
    indoor: np.ndarray
    outdoor: np.ndarray
    labels: list[str]


@functools.cache
def _tables() -> _Tables:
    """The tables as output indices; every class name must exist in ImageNet, and only once."""
    from videodesc.vision.scene import class_names

    labels = class_names()
    wanted = set(PLACE_CLASSES) | set(OUTDOOR_CLASSES) | set(INDOOR_CLASSES)
    where = {name: [i for i, label in enumerate(labels) if label == name] for name in wanted}
    bad = sorted(name for name, found in where.items() if len(found) != 1)
    if bad:  # a typo, or a name ImageNet uses twice ("crane" the bird and the machine)
        raise ValueError(f"place tables name classes that are missing or ambiguous in ImageNet: {bad}")
    index = {name: found[0] for name, found in where.items()}
    place_of: dict[str, list[int]] = {}
    for label, (place, _) in PLACE_CLASSES.items():
        place_of.setdefault(place, []).append(index[label])
    side = lambda setting, extra: np.array(sorted(
        [index[label] for label, (_, s) in PLACE_CLASSES.items() if s == setting] + [index[label] for label in extra]))
    return _Tables({place: np.array(found) for place, found in place_of.items()},
                   side("in", INDOOR_CLASSES), side("out", OUTDOOR_CLASSES), labels)


def _check(probabilities: np.ndarray) -> np.ndarray:
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.shape != (1000,):
        raise ValueError(f"expected the 1000 ImageNet class probabilities, got shape {probabilities.shape}")
    return probabilities


def place_from(probabilities: np.ndarray, settings: PlaceSettings | None = None) -> Place | None:
    """The place the ImageNet classes imply, or None when no place (or kind of place) is sure.

    Args:
        probabilities: the 1000 softmax probabilities from `SceneTagger.probabilities`.
        settings: the thresholds.
    """
    settings = settings or PlaceSettings()
    probabilities = _check(probabilities)
    tables = _tables()
    sums = {place: float(probabilities[found].sum()) for place, found in tables.place_of.items()}
    best = max(sums, key=sums.__getitem__)
    members = [best]
    if sums[best] < settings.min_place:
        families = {family: sum(sums[m] for m in group) for family, group in PLACE_FAMILIES.items()}
        family = max(families, key=families.__getitem__)
        if families[family] < settings.min_family:
            return None
        best, members = family, list(PLACE_FAMILIES[family])
    found = np.concatenate([tables.place_of[m] for m in members])
    carried = tuple(tables.labels[i] for i in found[np.argsort(probabilities[found])[::-1]]
                    if probabilities[i] >= 0.01)
    word = PLACE_WORDS[best]
    return Place(word.key, word.en, word.ko, round(float(probabilities[found].sum()), 3), carried)


def class_sides(probabilities: np.ndarray) -> tuple[float, float]:
    """The summed probability of the indoor classes and of the outdoor classes."""
    probabilities = _check(probabilities)
    tables = _tables()
    return float(probabilities[tables.indoor].sum()), float(probabilities[tables.outdoor].sum())


def measure(image_bgr: np.ndarray) -> Pixels:
    """The sky and brightness measures of one frame (any size; measured at 160 pixels wide)."""
    height, width = image_bgr.shape[:2]
    size = (_WIDTH, max(3, round(height * _WIDTH / width)))
    if width > 2 * _WIDTH:
        # Area averaging straight from 720p costs 2 ms, from 1080p 5; a bilinear step to twice the
        # size first brings it to 0.4 ms, and the averaging after it still smooths the noise.
        image_bgr = cv2.resize(image_bgr, (2 * size[0], 2 * size[1]), interpolation=cv2.INTER_LINEAR)
    small = cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    hue = hsv[..., 0].astype(np.float32) * 2.0  # degrees
    sat = hsv[..., 1].astype(np.float32) / 255.0
    val = hsv[..., 2].astype(np.float32) / 255.0
    # Sky is smooth: the mean gradient around a pixel stays under 0.08 (leaves, grass, faces,
    # buildings and text are far above it; cloudless and overcast sky, and plain walls, below).
    gradient = np.abs(cv2.Sobel(val, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(cv2.Sobel(val, cv2.CV_32F, 0, 1, ksize=3))
    smooth = cv2.blur(gradient, (5, 5)) < 0.08
    top = max(1, small.shape[0] // 3)
    # Blue from cyan to violet-blue (185-250 degrees) with some colour: day sky is 200-230.
    blue = (hue >= 185) & (hue <= 250) & (sat >= 0.15) & smooth

    def joined_to_top(mask: np.ndarray) -> np.ndarray:
        """The parts of the mask that reach the top edge of the frame, as the sky does."""
        count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
        touching = np.unique(labels[0][mask[0]])
        return np.isin(labels[:top], touching[touching > 0])

    bright_blue = joined_to_top(blue & (val >= 0.55))
    pale = joined_to_top(~blue & (sat < 0.12) & (val >= 0.75) & smooth)
    dark_blue = joined_to_top(blue)
    lamps = (val >= 0.92).astype(np.uint8)
    spots = cv2.connectedComponents(lamps, connectivity=8)[0] - 1
    return Pixels(blue_sky=float(bright_blue.mean()), pale_sky=float(pale.mean()),
                  dark_blue_sky=float(dark_blue.mean()),
                  sky_value=float(val[:top][bright_blue].mean()) if bright_blue.any() else 0.0,
                  top_value=float(val[:top].mean()), median_value=float(np.median(val)),
                  lamps=float(lamps.mean()), lamp_spots=int(spots))


def _daylight_sky(pixels: Pixels, settings: PlaceSettings) -> bool:
    # By day the sky is the brightest large area, or near it (0.75 or brighter under white clouds
    # that push the median to 1.0), while a blue wall or backdrop lit in a room seldom is.
    return pixels.blue_sky >= settings.min_blue_sky and pixels.sky_value >= min(pixels.median_value, 0.75)


def setting_from(probabilities: np.ndarray, pixels: Pixels, settings: PlaceSettings | None = None) -> Setting | None:
    """Indoors or outdoors, from the classes and the sky; None when the two disagree or neither is sure."""
    settings = settings or PlaceSettings()
    indoor, outdoor = class_sides(probabilities)
    sky = _daylight_sky(pixels, settings)
    by_classes = outdoor >= settings.min_outdoor and indoor <= settings.max_other_side
    if (by_classes or sky) and indoor <= settings.max_other_side:
        evidence = "classes+sky" if by_classes and sky else "classes" if by_classes else "sky"
        confidence = max(outdoor if by_classes else 0.0, pixels.blue_sky if sky else 0.0)
        return Setting("outdoor", round(confidence, 3), evidence)
    if indoor >= settings.min_indoor and outdoor <= settings.max_other_side and pixels.blue_sky < 0.05:
        return Setting("indoor", round(indoor, 3), "classes")
    return None


def light_from(pixels: Pixels, setting: Setting | None, indoor: float,
               settings: PlaceSettings | None = None) -> Light | None:
    """Day or night, from the sky and the brightness; None indoors and whenever the picture does not show it.

    Indoors the light says nothing about the hour (a lamp-lit room at noon, a bright office at
    night), and a dark picture is not night: night needs the dark sky and the lamps.

    Args:
        pixels: the frame's measures from `measure`.
        setting: the frame's setting from `setting_from`, or None.
        indoor: the summed probability of the indoor classes (`class_sides`): lamps and a dark
            blue wall in a room that the setting could not call indoors still veto night.
    """
    settings = settings or PlaceSettings()
    if setting is not None and setting.value == "indoor":
        return None
    if _daylight_sky(pixels, settings):
        return Light("day", round(pixels.blue_sky, 3), "blue sky")
    outdoors = setting is not None and setting.value == "outdoor"
    if outdoors and pixels.pale_sky >= settings.min_pale_sky and pixels.top_value >= settings.min_day_value:
        return Light("day", round(pixels.pale_sky, 3), "overcast sky")
    if outdoors and min(pixels.median_value, pixels.top_value) >= settings.min_day_value:
        return Light("day", setting.confidence, "bright outdoor scene")
    dark_sky = (pixels.dark_blue_sky >= settings.min_night_sky and pixels.top_value <= settings.max_night_value
                and pixels.median_value <= settings.max_night_value)
    lamps = settings.min_lamps <= pixels.lamps <= settings.max_lamps and pixels.lamp_spots >= settings.min_lamp_spots
    if dark_sky and lamps and indoor <= settings.max_other_side:
        return Light("night", round(pixels.dark_blue_sky, 3), "dark sky over lamps")
    return None


def read_place(image_bgr: np.ndarray, probabilities: np.ndarray, settings: PlaceSettings | None = None) -> PlaceReading:
    """The place, the setting and the light of one keyframe, each None when not sure.

    Args:
        image_bgr: the keyframe as OpenCV reads it.
        probabilities: its 1000 ImageNet probabilities from `SceneTagger.probabilities` (the same
            network pass that gives the scene tags).
        settings: the thresholds.
    """
    settings = settings or PlaceSettings()
    pixels = measure(image_bgr)
    setting = setting_from(probabilities, pixels, settings)
    place = place_from(probabilities, settings)
    # A place is indoors or outdoors by its nature; when the setting read, or daylight sky, says the
    # other, one of the two is wrong, and neither is said.
    if place is not None:
        keys = PLACE_FAMILIES.get(place.key, (place.key,))
        sides = {side for key, side in PLACE_CLASSES.values() if key in keys}
        outdoors = _daylight_sky(pixels, settings) or (setting is not None and setting.value == "outdoor")
        indoors = setting is not None and setting.value == "indoor"
        if (sides == {"in"} and outdoors) or (sides == {"out"} and indoors):
            place, setting = None, None
    return PlaceReading(place, setting, light_from(pixels, setting, class_sides(probabilities)[0], settings))
