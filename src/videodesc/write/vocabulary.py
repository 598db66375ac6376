"""Words for what the detectors name: COCO objects and the ImageNet classes worth saying in a drama.

Only classes listed here are ever spoken by the template writer: a description is read aloud to
someone who cannot check it, so "oscilloscope" or "bobsled" guessed from a cluttered frame must not
be said. ImageNet's 118 dog breeds, 5 cat classes and 28 bird classes are said as "a dog", "a cat",
"a bird": a describer names the breed only when the story does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Term:
    en: str  # with its article, as it is said: "a cup", "an umbrella"
    ko: str  # the bare noun: Korean has no article, and particles are attached by the grammar
    kind: Literal["place", "thing", "clothing", "vehicle", "animal"]


def _terms(kind: str, rows: str) -> dict[str, Term]:
    table = {}
    for row in rows.strip().splitlines():
        label, en, ko = (cell.strip() for cell in row.split("|"))
        table[label] = Term(en, ko, kind)  # type: ignore[arg-type]
    return table


# COCO classes (YOLOv3-tiny). "person" is counted, not listed, so it is absent here.
OBJECTS: dict[str, Term] = {
    **_terms("vehicle", """
        bicycle | a bicycle | 자전거
        car | a car | 자동차
        motorbike | a motorcycle | 오토바이
        aeroplane | an aeroplane | 비행기
        bus | a bus | 버스
        train | a train | 기차
        truck | a truck | 트럭
        boat | a boat | 배
    """),
    **_terms("animal", """
        bird | a bird | 새
        cat | a cat | 고양이
        dog | a dog | 개
        horse | a horse | 말
        sheep | a sheep | 양
        cow | a cow | 소
    """),
    **_terms("thing", """
        traffic light | a traffic light | 신호등
        fire hydrant | a fire hydrant | 소화전
        stop sign | a stop sign | 정지 표지판
        bench | a bench | 벤치
        backpack | a backpack | 배낭
        umbrella | an umbrella | 우산
        handbag | a handbag | 핸드백
        tie | a tie | 넥타이
        suitcase | a suitcase | 여행 가방
        bottle | a bottle | 병
        wine glass | a wine glass | 와인잔
        cup | a cup | 컵
        fork | a fork | 포크
        knife | a knife | 칼
        spoon | a spoon | 숟가락
        bowl | a bowl | 그릇
        banana | a banana | 바나나
        apple | an apple | 사과
        orange | an orange | 오렌지
        pizza | a pizza | 피자
        cake | a cake | 케이크
        chair | a chair | 의자
        sofa | a sofa | 소파
        pottedplant | a potted plant | 화분
        bed | a bed | 침대
        diningtable | a table | 식탁
        toilet | a toilet | 변기
        tvmonitor | a television | 텔레비전
        laptop | a laptop | 노트북
        remote | a remote control | 리모컨
        keyboard | a keyboard | 키보드
        cell phone | a mobile phone | 휴대전화
        microwave | a microwave | 전자레인지
        oven | an oven | 오븐
        sink | a sink | 싱크대
        refrigerator | a refrigerator | 냉장고
        book | a book | 책
        clock | a clock | 시계
        vase | a vase | 꽃병
        scissors | scissors | 가위
        teddy bear | a teddy bear | 곰 인형
        toothbrush | a toothbrush | 칫솔
    """),
}

# ImageNet classes (MobileNetV2 scene tags), by their first lemma.
TAGS: dict[str, Term] = {
    **_terms("place", """
        restaurant | a restaurant | 식당
        library | a library | 도서관
        bookshop | a bookshop | 서점
        barbershop | a barbershop | 이발소
        butcher shop | a butcher's shop | 정육점
        confectionery | a sweet shop | 과자 가게
        grocery store | a grocery store | 식료품점
        toyshop | a toy shop | 장난감 가게
        shoe shop | a shoe shop | 신발 가게
        bakery | a bakery | 빵집
        church | a church | 교회
        mosque | a mosque | 모스크
        monastery | a monastery | 수도원
        palace | a palace | 궁전
        prison | a prison | 감옥
        cinema | a cinema | 영화관
        stage | a stage | 무대
        greenhouse | a greenhouse | 온실
        patio | a patio | 테라스
        dock | a dock | 부두
        pier | a pier | 부두
        seashore | the seashore | 바닷가
        lakeside | a lakeside | 호숫가
        valley | a valley | 골짜기
        cliff | a cliff | 절벽
        alp | mountains | 산
        fountain | a fountain | 분수
        home theater | a living room with a large screen | 거실
    """),
    **_terms("vehicle", """
        streetcar | a tram | 전차
        passenger car | a train carriage | 객차
        police van | a police van | 경찰차
        ambulance | an ambulance | 구급차
        cab | a taxi | 택시
        school bus | a school bus | 통학 버스
        minibus | a minibus | 승합차
        limousine | a limousine | 리무진
        sports car | a sports car | 스포츠카
        convertible | a convertible | 오픈카
        motor scooter | a scooter | 스쿠터
        airliner | an airliner | 여객기
        speedboat | a speedboat | 모터보트
    """),
    **_terms("clothing", """
        suit | a suit | 정장
        kimono | a kimono | 기모노
        military uniform | a military uniform | 군복
        lab coat | a white coat | 흰 가운
        academic gown | an academic gown | 졸업 가운
        gown | a gown | 드레스
        trench coat | a trench coat | 트렌치코트
        fur coat | a fur coat | 모피 코트
        bow tie | a bow tie | 나비넥타이
        Windsor tie | a tie | 넥타이
        sunglasses | sunglasses | 선글라스
    """),
    **_terms("thing", """
        umbrella | an umbrella | 우산
        backpack | a backpack | 배낭
        purse | a purse | 지갑
        wallet | a wallet | 지갑
        envelope | an envelope | 봉투
        notebook | a laptop | 노트북
        laptop | a laptop | 노트북
        desktop computer | a computer | 컴퓨터
        cellular telephone | a mobile phone | 휴대전화
        dial telephone | a telephone | 전화기
        television | a television | 텔레비전
        web site | a web page | 웹 페이지
        candle | a candle | 촛불
        table lamp | a lamp | 스탠드
        wine bottle | a wine bottle | 와인병
        beer bottle | a beer bottle | 맥주병
        red wine | a glass of red wine | 레드 와인
        espresso | a cup of coffee | 커피
        coffee mug | a mug | 머그잔
        teapot | a teapot | 찻주전자
        pizza | a pizza | 피자
        cheeseburger | a burger | 햄버거
        ice cream | an ice cream | 아이스크림
        comic book | a comic book | 만화책
        menu | a menu | 메뉴판
        fountain pen | a fountain pen | 만년필
        rifle | a rifle | 소총
        assault rifle | a rifle | 소총
        revolver | a revolver | 권총
        syringe | a syringe | 주사기
        stethoscope | a stethoscope | 청진기
        pill bottle | a pill bottle | 약병
        four-poster | a four-poster bed | 침대
        studio couch | a sofa | 소파
        rocking chair | a rocking chair | 흔들의자
        desk | a desk | 책상
        bookcase | a bookcase | 책장
        wardrobe | a wardrobe | 옷장
        bathtub | a bathtub | 욕조
        refrigerator | a refrigerator | 냉장고
        acoustic guitar | a guitar | 기타
        electric guitar | an electric guitar | 전기 기타
        grand piano | a grand piano | 그랜드 피아노
        upright | a piano | 피아노
        violin | a violin | 바이올린
        microphone | a microphone | 마이크
        vase | a vase | 꽃병
        balloon | a balloon | 풍선
    """),
}

# ImageNet output indices of the animal families said by their common name.
_ANIMAL_RANGES = ((151, 268, Term("a dog", "개", "animal")), (281, 285, Term("a cat", "고양이", "animal")),
                  (7, 24, Term("a bird", "새", "animal")), (80, 100, Term("a bird", "새", "animal")))


@functools.cache
def _animal_terms() -> dict[str, Term]:
    from videodesc.errors import ModelError
    from videodesc.vision.scene import class_names

    try:
        names = class_names()
    except ModelError:  # the class list is missing: breeds stay unsaid rather than fail the writing
        return {}
    return {names[i]: term for first, last, term in _ANIMAL_RANGES for i in range(first, last + 1)}


def tag_term(label: str) -> Term | None:
    """The words for an ImageNet tag, or None when it is not something we say."""
    return TAGS.get(label) or _animal_terms().get(label)
