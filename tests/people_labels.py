"""Hand labels of the people in real frames, for the precision of the body facts (tests/test_people.py).

Each frame is a real image (a photo that a package ships, a frame of Big Buck Bunny or of the
narrated clip) or a staged variant of one made by the test: mirrored, cropped to a closer shot,
turned on its side (the person then lies in the picture), shrunk, or black. Labelled by looking
at each picture.

Per person: `box` (x0, y0, x1, y1 as fractions of the frame) and, per fact kind, the set of
values that are true of what the picture shows. A kind left out means the picture does not
show it (legs out of frame: no posture), so any fact of that kind about that person is wrong.
`gesture` lists every gesture that is true; a gesture not listed is wrong. Several values may
be right for one kind (a man in a black suit over a white shirt: black or white).
`scale` is the frame's shot scale, when one applies.
"""

from __future__ import annotations

BUS_MAN_COAT = {"box": (0.04, 0.36, 0.27, 0.86), "posture": {"standing"}, "facing": {"camera"},
                "gesture": {"arms_crossed"}, "clothing": {"beige", "white"}, "hair": {"black", "brown"}}
BUS_MAN_JACKET = {"box": (0.27, 0.38, 0.44, 0.85), "posture": {"standing"}, "facing": {"camera"},
                  "gesture": {"hand_at_face"}, "clothing": {"black", "red"}, "hair": {"black", "brown"}}
BUS_LEFT_EDGE = {"box": (0.0, 0.5, 0.09, 0.85)}  # cut by the frame edge: a coat and an arm
BUS_RIGHT_EDGE = {"box": (0.82, 0.35, 1.0, 0.82), "posture": {"standing"}, "facing": {"profile", "away"},
                  "clothing": {"black"}}
ASTRONAUT = {"box": (0.0, 0.0, 0.72, 1.0), "facing": {"camera"}, "clothing": {"orange"},
             "hair": {"brown", "blond"}, "gesture": set()}
CAMERAMAN = {"box": (0.28, 0.08, 0.85, 1.0), "posture": {"standing"}, "facing": {"profile"},
             "gesture": {"hand_at_face"}, "clothing": {"black"}, "hair": {"black"}}
ZIDANE = {"box": (0.1, 0.25, 0.65, 1.0), "facing": {"profile"}, "gesture": {"pointing", "arm_outstretched"},
          "clothing": {"black", "white"}}
ANCELOTTI = {"box": (0.68, 0.0, 0.95, 1.0), "facing": {"camera"}, "clothing": {"black", "white"},
             "hair": {"grey", "white"}, "gesture": set()}
PROFILE_IN_FIELD = {"box": (0.27, 0.25, 0.46, 0.92), "posture": {"standing"}, "facing": {"profile"},
                    "clothing": {"blue"}, "gesture": set()}
BEACH_ARMS_OUT = {"box": (0.5, 0.3, 1.0, 1.0), "posture": {"standing"}, "facing": {"camera"},
                  "gesture": {"arm_outstretched"}, "clothing": {"black"}, "hair": {"brown", "red"}}
BEACH_BLUE_BACK = {"box": (0.15, 0.45, 0.37, 1.0), "posture": {"standing"}, "facing": {"away"},
                   "clothing": {"blue"}, "hair": {"red", "brown"}, "gesture": set()}
BEACH_MAN_BEHIND = {"box": (0.24, 0.38, 0.36, 0.76), "posture": {"standing"}, "facing": {"camera"},
                    "clothing": {"black", "grey"}, "gesture": set()}
BEACH_BLONDE = {"box": (0.1, 0.4, 0.23, 1.0), "posture": {"standing"}, "facing": {"camera", "profile"},
                "clothing": {"brown", "black"}, "hair": {"blond"}}
SITTING_ON_SAND = {"box": (0.1, 0.25, 0.75, 1.0), "posture": {"sitting"}, "facing": {"camera"},
                   "clothing": {"black"}, "hair": {"blond"}, "gesture": {"hands_together"}}
ARMS_FOLDED_BIDEN = {"box": (0.1, 0.08, 0.95, 1.0), "facing": {"camera"}, "gesture": {"arms_crossed"},
                     "clothing": {"black", "white"}, "hair": {"white", "grey"}}
ARMS_FOLDED_OBAMA = {"box": (0.2, 0.1, 0.8, 1.0), "facing": {"camera"}, "gesture": {"arms_crossed"},
                     "clothing": {"black", "white"}, "hair": {"black", "grey"}}
BALL_OVERHEAD = {"box": (0.05, 0.15, 0.3, 1.0), "posture": {"standing"}, "facing": {"camera"},
                 "gesture": {"arms_raised", "arm_raised", "hand_at_face"}, "clothing": {"black", "grey"},
                 "hair": {"black", "brown"}, "holding": {"sports ball"}}
BALL_BACK = {"box": (0.68, 0.0, 1.0, 1.0), "facing": {"away", "profile"}, "hair": {"black", "brown"}}
KICKING = {"box": (0.15, 0.2, 0.95, 1.0), "facing": {"camera"}, "gesture": {"arm_outstretched", "arms_raised", "arm_raised"},
           "clothing": {"red", "blue", "black"}, "hair": {"black", "brown"}, "holding": {"sports ball"}}
NARRATED_ARMS_UP = {"box": (0.33, 0.1, 0.63, 0.75), "posture": {"standing"}, "facing": {"camera"},
                    "gesture": {"arms_raised"}, "clothing": {"white", "grey"}}
# kphotoalbum's demo album (scripts/fetch_samples.py).
BAR_WOMAN = {"box": (0.03, 0.29, 0.5, 1.0), "facing": {"camera"}, "clothing": {"black", "grey"},
             "hair": {"blond"}, "gesture": set()}  # the man's arm round her shoulders, his hand on hers
BAR_MAN = {"box": (0.42, 0.14, 0.82, 1.0), "facing": {"camera"}, "clothing": {"black"}, "hair": {"brown"},
           "gesture": set()}
BAR_SCARF = {"box": (0.0, 0.18, 0.14, 0.85), "facing": {"camera", "profile"}, "clothing": {"black", "grey"},
             "hair": {"brown", "black"}}  # a striped scarf over a black coat: no one colour of top
BAR_BEHIND_LEFT = {"box": (0.13, 0.36, 0.22, 0.55), "facing": {"camera", "profile"}, "clothing": {"black", "brown"},
                   "hair": {"black", "brown"}}
BAR_BEHIND_MIDDLE = {"box": (0.18, 0.3, 0.28, 0.5), "facing": {"camera"}, "clothing": {"black", "white", "grey"},
                     "hair": {"black", "brown"}}
BAR_GREY_MAN = {"box": (0.58, 0.0, 0.82, 0.68), "facing": {"profile", "away"}, "clothing": {"grey", "black"},
                "hair": {"grey", "white"}}
BAR_MAN_RIGHT = {"box": (0.86, 0.28, 1.0, 0.6), "facing": {"camera", "profile"}, "clothing": {"black"},
                 "hair": {"black", "brown"}}
GLASSES_WOMAN = {"box": (0.06, 0.11, 0.52, 0.85), "facing": {"camera"}, "clothing": {"black", "grey"},
                 "hair": {"blond"}, "gesture": set(), "holding": {"wine glass", "cup"}}
GLASSES_MAN = {"box": (0.46, 0.05, 0.96, 0.86), "facing": {"camera"}, "clothing": {"brown", "black", "grey"},
               "hair": {"brown"}, "gesture": set(), "holding": {"wine glass", "cup"}}
GLASSES_LEFT_BACK = {"box": (0.0, 0.3, 0.15, 0.6)}  # dark figures in the background
GLASSES_RIGHT_BACK = {"box": (0.83, 0.4, 0.93, 0.6)}  # the back of a blonde head
# Three men each flexing an arm, the fist by the shoulder: none of the gestures said.
FLEX_LEFT = {"box": (0.0, 0.0, 0.4, 1.0), "facing": {"camera", "profile"}, "clothing": {"grey", "blue", "black"},
             "hair": {"brown", "black"}, "gesture": set()}
FLEX_MIDDLE = {"box": (0.37, 0.0, 0.74, 1.0), "facing": {"camera"}, "clothing": {"red"}, "hair": {"brown", "black"},
               "gesture": set()}
FLEX_RIGHT = {"box": (0.66, 0.0, 1.0, 1.0), "facing": {"camera", "profile"}, "clothing": {"grey", "blue"},
              "hair": {"brown"}, "gesture": set()}
FLEX_BEHIND = {"box": (0.6, 0.15, 0.75, 0.45)}
# Bent over the table, one arm out to it, the cue upright in the other hand (a cue is no COCO class).
POOL_PLAYER = {"box": (0.13, 0.17, 0.67, 0.88), "posture": {"standing"}, "facing": {"profile"},
               "gesture": {"arm_outstretched"}, "clothing": {"red", "pink"}, "hair": {"brown"}}
POOL_WATCHER = {"box": (0.63, 0.15, 0.78, 0.75), "posture": {"standing"}, "facing": {"camera"},
                "clothing": {"white", "beige", "grey"}, "hair": {"blond", "brown"}, "gesture": set()}
HAND_ON_HEAD = {"box": (0.0, 0.0, 1.0, 1.0), "facing": {"camera"}, "clothing": {"black"},
                "gesture": {"hand_at_face"}}  # the top of the head cut by the frame: no hair
SPEAKING_CLOSE = {"box": (0.05, 0.0, 1.0, 1.0), "facing": {"camera"}, "clothing": {"black", "blue", "white", "grey"},
                  "hair": {"brown"}, "gesture": set()}
QUIFF = {"box": (0.1, 0.0, 0.85, 1.0), "facing": {"camera"}, "clothing": {"black"}, "hair": {"black", "brown"},
         "gesture": set()}
POSTER_MAN = {"box": (0.66, 0.2, 0.8, 0.92), "posture": {"standing"}, "facing": {"camera"},
              "clothing": {"black", "blue", "grey"}, "hair": {"blond", "white"}, "gesture": set()}
POSTER_LEFT = {"box": (0.0, 0.18, 0.32, 0.58)}  # small figures in a poster
# OpenCV's vtest.avi: a fixed camera high over a campus path, pedestrians 6-25% of the frame tall.
VTEST_20 = [{"box": (0.1, 0.26, 0.15, 0.38)}, {"box": (0.28, 0.32, 0.33, 0.47), "clothing": {"black"}},
            {"box": (0.63, 0.24, 0.68, 0.39), "clothing": {"black"}}, {"box": (0.88, 0.16, 0.91, 0.28)},
            {"box": (0.91, 0.17, 0.95, 0.28)}, {"box": (0.8, 0.45, 0.85, 0.64), "clothing": {"black"}},
            {"box": (0.92, 0.43, 0.97, 0.62), "clothing": {"black"}}]
VTEST_60 = [{"box": (0.23, 0.25, 0.29, 0.38)}, {"box": (0.73, 0.35, 0.78, 0.52), "clothing": {"black"}},
            {"box": (0.86, 0.36, 0.93, 0.52), "clothing": {"black"}},
            {"box": (0.58, 0.52, 0.66, 0.73), "clothing": {"red", "black"}},
            {"box": (0.83, 0.52, 0.88, 0.72), "clothing": {"black"}},
            {"box": (0.36, 0.74, 0.44, 1.0), "clothing": {"black"}}]
CANYON = {"box": (0.25, 0.33, 0.7, 1.0), "facing": {"camera"}, "clothing": {"brown", "black"},
          "gesture": set()}  # a knitted hat: no hair to see


def _mirror(person: dict) -> dict:
    x0, y0, x1, y1 = person["box"]
    return {**person, "box": (1 - x1, y0, 1 - x0, y1)}


def _crop(person: dict, crop: tuple[float, float, float, float], **changes) -> dict:
    cx0, cy0, cx1, cy1 = crop
    x0, y0, x1, y1 = person["box"]
    w, h = cx1 - cx0, cy1 - cy0
    box = (max(0.0, (x0 - cx0) / w), max(0.0, (y0 - cy0) / h), min(1.0, (x1 - cx0) / w), min(1.0, (y1 - cy0) / h))
    return {**{k: v for k, v in person.items() if k not in changes}, **changes, "box": box}


def _turned(person: dict) -> dict:
    """The person turned a quarter clockwise with the picture: lying, whatever they did upright."""
    x0, y0, x1, y1 = person["box"]
    turned = {k: v for k, v in person.items() if k not in ("posture", "facing", "gesture")}
    # Facing is still true of a lying person, but the picture's left-right order no longer tells
    # it; a hand at the face or folded arms stay what they are; arms "raised" no longer are.
    gestures = set(person.get("gesture", ())) - {"arms_raised", "arm_raised"}
    return {**turned, "box": (1 - y1, x0, 1 - y0, x1), "posture": {"lying"}, "gesture": gestures,
            **({"facing": person["facing"]} if "facing" in person else {})}


# name: (source, transform, people, scale). Sources: a file in the samples folder, "narrated@T",
# "bbb@T" or "vtest@T" (a frame at T seconds), "black". Transforms: "", "mirror", "crop:x0,y0,x1,y1",
# "turn" (a quarter clockwise), "shrink:F".
FRAMES: dict[str, tuple[str, str, list[dict], set[str]]] = {
    "bus": ("bus.jpg", "", [BUS_MAN_COAT, BUS_MAN_JACKET, BUS_LEFT_EDGE, BUS_RIGHT_EDGE], {"wide"}),
    "bus mirrored": ("bus.jpg", "mirror", [_mirror(p) for p in (BUS_MAN_COAT, BUS_MAN_JACKET, BUS_LEFT_EDGE,
                                                                 BUS_RIGHT_EDGE)], {"wide"}),
    "bus, two men waist up": ("bus.jpg", "crop:0.0,0.33,0.5,0.66",
                              [_crop(BUS_MAN_COAT, (0.0, 0.33, 0.5, 0.66), posture=set()),
                               _crop(BUS_MAN_JACKET, (0.0, 0.33, 0.5, 0.66), posture=set())], {"medium"}),
    "bus, the man in the coat close": ("bus.jpg", "crop:0.06,0.36,0.26,0.51",
                                       [{"box": (0.0, 0.0, 1.0, 1.0), "facing": {"camera"}, "hair": {"black", "brown"},
                                         "clothing": {"beige", "white"}, "gesture": set()}], {"close-up"}),
    "bus, shrunk to a sixth": ("bus.jpg", "shrink:0.16", [BUS_MAN_COAT, BUS_MAN_JACKET, BUS_LEFT_EDGE,
                                                           BUS_RIGHT_EDGE], {"wide"}),
    "bus turned": ("bus.jpg", "turn", [_turned(BUS_MAN_COAT), _turned(BUS_MAN_JACKET), _turned(BUS_LEFT_EDGE),
                                       _turned(BUS_RIGHT_EDGE)], {"wide"}),
    "astronaut": ("astronaut.png", "", [ASTRONAUT], {"medium"}),
    "astronaut mirrored": ("astronaut.png", "mirror", [_mirror(ASTRONAUT)], {"medium"}),
    "astronaut's face": ("astronaut.png", "crop:0.2,0.0,0.62,0.42",
                         [{"box": (0.0, 0.0, 1.0, 1.0), "facing": {"camera"}, "hair": {"brown", "blond"},
                           "gesture": set(), "clothing": {"black", "orange"}}], {"close-up"}),
    "astronaut turned": ("astronaut.png", "turn", [_turned(ASTRONAUT)], {"medium"}),
    "cameraman": ("camera.png", "", [CAMERAMAN], {"medium", "wide"}),
    "cameraman mirrored": ("camera.png", "mirror", [_mirror(CAMERAMAN)], {"medium", "wide"}),
    "cameraman turned": ("camera.png", "turn", [_turned(CAMERAMAN)], {"medium", "wide"}),
    "cameraman's head": ("camera.png", "crop:0.45,0.05,0.85,0.45",
                         [{"box": (0.0, 0.0, 1.0, 1.0), "facing": {"profile"}, "hair": {"black"},
                           "gesture": {"hand_at_face"}, "clothing": {"black"}}], {"close-up"}),
    "zidane": ("zidane.jpg", "", [ZIDANE, ANCELOTTI], {"medium"}),
    "zidane mirrored": ("zidane.jpg", "mirror", [_mirror(ZIDANE), _mirror(ANCELOTTI)], {"medium"}),
    "ancelotti close": ("zidane.jpg", "crop:0.66,0.0,1.0,0.6",
                        [{"box": (0.0, 0.0, 0.9, 1.0), "facing": {"camera"}, "hair": {"grey", "white"},
                          "clothing": {"black", "white"}, "gesture": set()}], {"close-up", "medium"}),
    "man in a field": ("person.jpg", "", [PROFILE_IN_FIELD], {"wide"}),
    "man in a field mirrored": ("person.jpg", "mirror", [_mirror(PROFILE_IN_FIELD)], {"wide"}),
    "beach, arms out": ("cold_water.jpg", "", [BEACH_ARMS_OUT, BEACH_BLUE_BACK, BEACH_MAN_BEHIND, BEACH_BLONDE],
                        {"medium"}),
    "beach, arms out, mirrored": ("cold_water.jpg", "mirror", [_mirror(p) for p in (BEACH_ARMS_OUT, BEACH_BLUE_BACK,
                                                                                     BEACH_MAN_BEHIND, BEACH_BLONDE)],
                                  {"medium"}),
    "sitting on the sand": ("anne_helene.jpg", "", [SITTING_ON_SAND], {"medium"}),
    "sitting on the sand, mirrored": ("anne_helene.jpg", "mirror", [_mirror(SITTING_ON_SAND)], {"medium"}),
    "arms folded": ("biden.jpg", "", [ARMS_FOLDED_BIDEN], {"medium"}),
    "arms folded, another man": ("obama3.jpg", "", [ARMS_FOLDED_OBAMA], {"medium"}),
    "arms folded, mirrored": ("obama3.jpg", "mirror", [_mirror(ARMS_FOLDED_OBAMA)], {"medium"}),
    "arms folded, turned": ("obama3.jpg", "turn", [_turned(ARMS_FOLDED_OBAMA)], {"medium"}),
    "ball overhead": ("basketball1.png", "", [BALL_OVERHEAD, BALL_BACK], {"wide", "medium"}),
    "kicking": ("messi5.jpg", "", [KICKING], {"wide", "medium"}),
    "bar, a couple": ("bar55.jpg", "", [BAR_WOMAN, BAR_MAN, BAR_SCARF, BAR_BEHIND_LEFT, BAR_BEHIND_MIDDLE,
                                        BAR_GREY_MAN, BAR_MAN_RIGHT], {"medium", "close-up"}),
    "bar, glasses in hand": ("bar55_2.jpg", "", [GLASSES_WOMAN, GLASSES_MAN, GLASSES_LEFT_BACK, GLASSES_RIGHT_BACK],
                             {"medium", "close-up"}),
    "bar, glasses in hand, mirrored": ("bar55_2.jpg", "mirror", [_mirror(p) for p in (GLASSES_WOMAN, GLASSES_MAN,
                                                                                       GLASSES_LEFT_BACK,
                                                                                       GLASSES_RIGHT_BACK)],
                                       {"medium", "close-up"}),
    "three men flexing": ("qt-logo.jpg", "", [FLEX_LEFT, FLEX_MIDDLE, FLEX_RIGHT, FLEX_BEHIND], {"close-up", "medium"}),
    "pool": ("pool.jpg", "", [POOL_PLAYER, POOL_WATCHER], {"wide", "medium"}),
    "pool mirrored": ("pool.jpg", "mirror", [_mirror(POOL_PLAYER), _mirror(POOL_WATCHER)], {"wide", "medium"}),
    "hand on the head": ("jesper.jpg", "", [HAND_ON_HEAD], {"close-up"}),
    "speaking, close": ("jesper_2.jpg", "", [SPEAKING_CLOSE], {"close-up"}),
    "quiff before posters": ("new_wave_2.jpg", "", [QUIFF, POSTER_MAN, POSTER_LEFT], {"close-up"}),
    "canyon": ("grand_canyon_2.jpg", "", [CANYON], {"medium", "wide"}),
    "coffee": ("coffee.png", "", [], set()),
    "cat": ("chelsea.png", "", [], set()),
    "cat mirrored": ("chelsea.png", "mirror", [], set()),
    "black": ("black", "", [], set()),
    "narrated, arms raised": ("narrated@12", "", [NARRATED_ARMS_UP], {"wide"}),
    "narrated, arms raised, mirrored": ("narrated@12", "mirror", [_mirror(NARRATED_ARMS_UP)], {"wide"}),
    "narrated, book": ("narrated@24", "", [], set()),
    "narrated, globe": ("narrated@36", "", [{"box": (0.55, 0.0, 1.0, 0.75)}], set()),  # tiny cut-out figures
    "narrated, logo": ("narrated@153", "", [], set()),
    "narrated, credits": ("narrated@170", "", [], set()),
    "campus path": ("vtest@20", "", VTEST_20, {"wide"}),
    "campus path, later": ("vtest@60", "", VTEST_60, {"wide"}),
    "campus path, later, mirrored": ("vtest@60", "mirror", [_mirror(p) for p in VTEST_60], {"wide"}),
    "bbb, three animals": ("bbb@120", "", [], set()),
    "bbb, meadow": ("bbb@60", "", [], set()),
    "bbb, flying squirrel": ("bbb@400", "", [], set()),
    "bbb, bunny": ("bbb@480", "", [], set()),
    "bbb, tree": ("bbb@30", "", [], set()),
    "bbb, credits": ("bbb@560", "", [], set()),
}
