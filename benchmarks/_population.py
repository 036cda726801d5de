"""A statewide population of visitors with realistic name frequencies (issue 17).

Names are drawn the way they occur: a few surnames and first names are very common and most are
rare. Four groups, each with its real common surnames and first names weighted roughly as in the
2010 US census surname counts and name-frequency lists (Zipf-like), plus a long tail of rarer
names:

- Hispanic (42 %): García, Rodríguez, Martínez, Hernández, … written with or without accents;
  22 % of records carry two surnames ("García López"); first names María, José, Juan, … and
  compound ones (María Guadalupe, José Luis, Juan Carlos).
- Anglo (40 %): Smith, Johnson, Williams, Brown, …; first names James, Mary, … and some
  nicknames (Bill, Bob, Liz).
- Vietnamese (5 %): Nguyễn is 38 % of them, then Trần, Lê, Phạm, …; the middle name Thị (women)
  or Văn (men) is typed as part of the first name in half of the records; 30 % go by an English
  first name.
- Arabic (4 %): Mohamed, Ahmed, Ali, Hassan, …, also as first names, Muhammad spelt five ways.
- The rest (9 %) and each group's tail: invented names from syllables (tens of thousands).

At a million visitors this gives hundreds of "María García", thousands of "Nguyen" whose first
name starts with "t" (Thị), and a surname key like "garcia" + initial "m" with thousands of rows.
Phone numbers are random (their last 4 digits uniform), birth dates 1940–2007 for 90 %.
"""

import datetime as dt
import itertools
import random

# (name, weight): weights are per-million-ish counts, so ratios are what matter.
HISPANIC_SURNAMES = [
    ("García", 1166), ("Rodríguez", 1095), ("Martínez", 1060), ("Hernández", 1043),
    ("López", 875), ("González", 841), ("Pérez", 682), ("Sánchez", 613), ("Ramírez", 557),
    ("Torres", 438), ("Flores", 434), ("Rivera", 430), ("Gómez", 358), ("Díaz", 355),
    ("Reyes", 331), ("Morales", 313), ("Cruz", 282), ("Ortiz", 301), ("Gutiérrez", 278),
    ("Chávez", 280), ("Ramos", 285), ("Ruiz", 250), ("Álvarez", 245), ("Mendoza", 254),
    ("Castillo", 234), ("Jiménez", 225), ("Moreno", 239), ("Romero", 228), ("Herrera", 230),
    ("Medina", 210), ("Aguilar", 226), ("Vargas", 196), ("Guzmán", 185), ("Méndez", 180),
    ("Castro", 190), ("Ortega", 192), ("Delgado", 158), ("Vásquez", 157), ("Soto", 146),
    ("Contreras", 147), ("Rojas", 130), ("Peña", 128), ("Ríos", 120), ("Núñez", 118),
    ("Salazar", 131), ("Estrada", 126), ("Guerrero", 124), ("Sandoval", 118), ("Cortez", 100),
    ("Domínguez", 116), ("Luna", 110), ("Juárez", 110), ("Espinoza", 108), ("Padilla", 104),
    ("Navarro", 100), ("Cabrera", 90), ("Campos", 99), ("Vega", 105), ("Silva", 98),
    ("Acosta", 97), ("Fuentes", 90), ("Valdez", 94), ("Maldonado", 92), ("Molina", 92),
    ("Márquez", 88), ("Ibarra", 80), ("Figueroa", 86), ("Alvarado", 89), ("Rosales", 80),
    ("Villarreal", 75), ("Treviño", 70), ("Zamora", 68), ("Lara", 74), ("Salinas", 72),
    ("Cervantes", 70), ("Ochoa", 66), ("Escobar", 62), ("Robles", 66), ("Carrillo", 64),
    ("Miranda", 64), ("Velásquez", 60), ("Mejía", 62), ("Ávila", 60), ("Durán", 60),
    ("Zúñiga", 55), ("Rangel", 54), ("Galván", 52), ("Pacheco", 56), ("Huerta", 52),
    ("Montoya", 55), ("Trujillo", 52), ("Cisneros", 50), ("Bautista", 48), ("Solís", 48),
]  # fmt: skip
HISPANIC_MALE = [
    ("José", 700), ("Juan", 520), ("Luis", 380), ("Carlos", 360), ("Jesús", 280), ("Jorge", 260),
    ("Miguel", 250), ("Francisco", 240), ("Antonio", 220), ("Alejandro", 200), ("Manuel", 190),
    ("Pedro", 150), ("Ricardo", 140), ("Fernando", 140), ("Javier", 135), ("Roberto", 130),
    ("Rafael", 120), ("Daniel", 120), ("Eduardo", 115), ("Mario", 110), ("Sergio", 105),
    ("Raúl", 100), ("Héctor", 95), ("Arturo", 90), ("Ramón", 85), ("Óscar", 85),
    ("Enrique", 80), ("Víctor", 80), ("Alberto", 75), ("Martín", 70), ("Julio", 70),
    ("Andrés", 65), ("Pablo", 60), ("Diego", 60), ("Ángel", 60), ("Armando", 55),
    ("Gerardo", 55), ("Rubén", 50), ("Salvador", 45), ("Guillermo", 45),
    ("José Luis", 160), ("Juan Carlos", 120), ("José Antonio", 80), ("Juan José", 60),
    ("Luis Miguel", 40), ("Miguel Ángel", 70), ("Juan Manuel", 50), ("José Manuel", 45),
]  # fmt: skip
HISPANIC_FEMALE = [
    ("María", 900), ("Ana", 260), ("Rosa", 200), ("Guadalupe", 190), ("Carmen", 170),
    ("Juana", 140), ("Teresa", 130), ("Patricia", 130), ("Laura", 125), ("Verónica", 120),
    ("Leticia", 110), ("Adriana", 110), ("Elizabeth", 105), ("Gabriela", 100), ("Alejandra", 95),
    ("Martha", 95), ("Silvia", 90), ("Claudia", 90), ("Sandra", 85), ("Yolanda", 80),
    ("Maribel", 70), ("Araceli", 65), ("Lucía", 65), ("Sofía", 60), ("Isabel", 60),
    ("Daniela", 60), ("Fernanda", 45), ("Elena", 55), ("Diana", 55), ("Mónica", 55),
    ("Norma", 55), ("Gloria", 50), ("Blanca", 50), ("Irma", 45), ("Alicia", 50),
    ("Beatriz", 45), ("Margarita", 45), ("Josefina", 40), ("Esperanza", 35), ("Lourdes", 35),
    ("María Guadalupe", 170), ("María de Jesús", 80), ("María Elena", 90), ("Ana María", 70),
    ("María José", 50), ("María del Carmen", 60), ("María Isabel", 55), ("María Luisa", 50),
    ("María Teresa", 45), ("María de los Ángeles", 35),
]  # fmt: skip
ANGLO_SURNAMES = [
    ("Smith", 2443), ("Johnson", 1933), ("Williams", 1626), ("Brown", 1438), ("Jones", 1363),
    ("Miller", 1128), ("Davis", 1116), ("Wilson", 802), ("Anderson", 784), ("Taylor", 752),
    ("Thomas", 711), ("Moore", 725), ("Jackson", 667), ("Martin", 667), ("Lee", 694),
    ("Thompson", 645), ("White", 639), ("Harris", 624), ("Clark", 563), ("Lewis", 531),
    ("Robinson", 504), ("Walker", 501), ("Young", 466), ("Allen", 464), ("King", 458),
    ("Wright", 459), ("Scott", 421), ("Hill", 430), ("Green", 413), ("Adams", 413),
    ("Baker", 419), ("Nelson", 424), ("Carter", 376), ("Mitchell", 382), ("Roberts", 366),
    ("Turner", 341), ("Phillips", 340), ("Campbell", 338), ("Parker", 330), ("Evans", 309),
    ("Edwards", 299), ("Collins", 294), ("Stewart", 290), ("Morris", 282), ("Murphy", 274),
    ("Cook", 281), ("Rogers", 266), ("Morgan", 259), ("Peterson", 259), ("Cooper", 260),
    ("Reed", 258), ("Bailey", 255), ("Bell", 252), ("Kelly", 242), ("Howard", 244),
    ("Ward", 242), ("Cox", 231), ("Richardson", 240), ("Wood", 233), ("Watson", 232),
    ("Brooks", 231), ("Bennett", 225), ("Gray", 224), ("James", 232), ("Hughes", 212),
    ("Price", 211), ("Sanders", 211), ("Myers", 210), ("Long", 210), ("Ross", 211),
    ("Foster", 209), ("Powell", 200), ("Jenkins", 200), ("Perry", 195), ("Russell", 195),
    ("Sullivan", 190), ("Bryant", 185), ("Butler", 185), ("Barnes", 180), ("Fisher", 175),
    ("Henderson", 175), ("Coleman", 172), ("Simmons", 170), ("Patterson", 170), ("Jordan", 165),
    ("Reynolds", 165), ("Hamilton", 160), ("Graham", 160), ("Kim", 160), ("Wallace", 155),
]  # fmt: skip
ANGLO_MALE = [
    ("James", 480), ("Robert", 470), ("John", 460), ("Michael", 440), ("David", 380),
    ("William", 370), ("Richard", 300), ("Joseph", 280), ("Thomas", 270), ("Christopher", 250),
    ("Charles", 240), ("Daniel", 230), ("Matthew", 220), ("Anthony", 200), ("Mark", 190),
    ("Donald", 180), ("Steven", 175), ("Paul", 170), ("Andrew", 165), ("Joshua", 160),
    ("Kenneth", 150), ("Kevin", 150), ("Brian", 145), ("George", 140), ("Timothy", 135),
    ("Ronald", 130), ("Jason", 130), ("Edward", 125), ("Jeffrey", 120), ("Ryan", 120),
    ("Jacob", 115), ("Gary", 110), ("Nicholas", 110), ("Eric", 105), ("Jonathan", 100),
    ("Stephen", 100), ("Larry", 95), ("Justin", 95), ("Scott", 90), ("Brandon", 90),
    ("Bill", 40), ("Bob", 40), ("Mike", 60), ("Jim", 35), ("Tony", 30), ("Tom", 30),
    ("Chris", 45), ("Dave", 25), ("Steve", 25), ("Joe", 30), ("Dan", 20), ("Tim", 20),
]  # fmt: skip
ANGLO_FEMALE = [
    ("Mary", 460), ("Patricia", 300), ("Jennifer", 290), ("Linda", 280), ("Elizabeth", 260),
    ("Barbara", 250), ("Susan", 240), ("Jessica", 230), ("Sarah", 220), ("Karen", 210),
    ("Lisa", 200), ("Nancy", 190), ("Betty", 170), ("Sandra", 165), ("Margaret", 165),
    ("Ashley", 160), ("Kimberly", 155), ("Emily", 150), ("Donna", 145), ("Michelle", 145),
    ("Carol", 140), ("Amanda", 140), ("Melissa", 135), ("Deborah", 130), ("Stephanie", 130),
    ("Dorothy", 120), ("Rebecca", 120), ("Sharon", 115), ("Laura", 115), ("Cynthia", 110),
    ("Amy", 110), ("Kathleen", 105), ("Angela", 105), ("Shirley", 100), ("Brenda", 100),
    ("Emma", 95), ("Anna", 95), ("Pamela", 90), ("Nicole", 90), ("Samantha", 85),
    ("Katherine", 85), ("Christine", 80), ("Rachel", 80), ("Janet", 75), ("Heather", 75),
    ("Liz", 20), ("Kathy", 30), ("Patty", 15), ("Sue", 20), ("Jenny", 25), ("Becky", 15),
]  # fmt: skip
VIETNAMESE_SURNAMES = [
    ("Nguyễn", 380), ("Trần", 110), ("Lê", 95), ("Phạm", 70), ("Huỳnh", 42), ("Hoàng", 30),
    ("Phan", 45), ("Vũ", 22), ("Võ", 20), ("Đặng", 21), ("Bùi", 20), ("Đỗ", 14), ("Hồ", 13),
    ("Ngô", 13), ("Dương", 10), ("Lý", 5), ("Trương", 8), ("Đinh", 6), ("Lâm", 6), ("Mai", 5),
    ("Lưu", 4), ("Quách", 3), ("Tạ", 3), ("Thái", 4), ("Cao", 4), ("Châu", 4), ("Hà", 4),
    ("La", 3), ("Tô", 3), ("Kiều", 2), ("Đoàn", 4), ("Vương", 3), ("Trịnh", 4), ("Lương", 4),
]  # fmt: skip
VIETNAMESE_MALE = [
    ("Minh", 100), ("Hùng", 80), ("Dũng", 70), ("Tuấn", 70), ("Hải", 60), ("Nam", 60),
    ("Long", 55), ("Thanh", 55), ("Phúc", 45), ("Quang", 45), ("Sơn", 40), ("Tâm", 40),
    ("Trung", 40), ("Đức", 40), ("Bình", 35), ("Hiếu", 30), ("Khoa", 30), ("Việt", 30),
    ("Tài", 25), ("Toàn", 25), ("Huy", 45), ("Khang", 25), ("Thắng", 25), ("Vinh", 30),
]  # fmt: skip
VIETNAMESE_FEMALE = [
    ("Hoa", 80), ("Lan", 75), ("Mai", 75), ("Hương", 70), ("Thu", 60), ("Hằng", 55),
    ("Ngọc", 60), ("Linh", 60), ("Trang", 55), ("Anh", 55), ("Hạnh", 45), ("Nga", 40),
    ("Thảo", 45), ("Hà", 40), ("Phương", 45), ("Dung", 35), ("Loan", 35), ("Tuyết", 30),
    ("Vân", 30), ("Yến", 30), ("Nhung", 25), ("Thủy", 30), ("Liên", 25), ("Oanh", 20),
]  # fmt: skip
ARABIC_SURNAMES = [
    ("Mohamed", 300), ("Ahmed", 280), ("Ali", 260), ("Hassan", 200), ("Hussein", 150),
    ("Ibrahim", 140), ("Abdullah", 110), ("Mahmoud", 100), ("Said", 80), ("Khalil", 70),
    ("Saleh", 70), ("Omar", 70), ("Yousef", 60), ("Mustafa", 60), ("Abdi", 80), ("Osman", 60),
    ("Farah", 55), ("Nasser", 45), ("Haddad", 40), ("Aziz", 40), ("Mohammed", 120),
    ("Muhammad", 90), ("Abdelrahman", 30), ("Salem", 40), ("Hamid", 40), ("Karim", 35),
]  # fmt: skip
ARABIC_MALE = [
    ("Muhammad", 140), ("Mohamed", 160), ("Mohammed", 140), ("Mohammad", 90), ("Mohamad", 40),
    ("Ahmed", 140), ("Ahmad", 60), ("Ali", 110), ("Omar", 90), ("Hassan", 80), ("Hussein", 50),
    ("Ibrahim", 60), ("Mahmoud", 50), ("Mustafa", 50), ("Khalid", 50), ("Youssef", 45),
    ("Abdullah", 45), ("Yusuf", 30), ("Abdi", 30), ("Samir", 25), ("Tariq", 20), ("Karim", 25),
]  # fmt: skip
ARABIC_FEMALE = [
    ("Fatima", 150), ("Fatma", 40), ("Aisha", 80), ("Maryam", 60), ("Mariam", 50),
    ("Amina", 70), ("Khadija", 50), ("Zainab", 50), ("Noor", 45), ("Layla", 40), ("Hana", 35),
    ("Sara", 45), ("Asma", 30), ("Huda", 25), ("Samira", 25), ("Yasmin", 30), ("Salma", 30),
]  # fmt: skip

_SYLLABLE_TEXT = (
    "ba be bi bo da de di do ga go gu ka ke ki ko la le li lo lu ma me mi mo na ne ni no "
    "pa pe ra re ri ro sa se si so ta te ti to va ve vi wa ya yo za zi ch sh th an en in "
    "on er ar or el al il us"
)
_SYLLABLES = _SYLLABLE_TEXT.split()
ACCENTS = str.maketrans("áéíóúÁÉÍÓÚñÑ", "aeiouAEIOUnN")


def _strip_vietnamese(name: str) -> str:
    import unicodedata

    name = name.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class _Pick:
    """Weighted choice from (name, weight) pairs, plus a tail of rare names sharing ``tail``
    of the weight (Zipf-like over the tail too)."""

    def __init__(self, pairs, tail_names=(), tail=0.0):
        names = [n for n, _ in pairs]
        weights = [float(w) for _, w in pairs]
        if tail_names:
            head = sum(weights)
            zipf = [1 / (rank + 10) ** 0.7 for rank in range(len(tail_names))]
            scale = head * tail / (1 - tail) / sum(zipf)
            names += list(tail_names)
            weights += [z * scale for z in zipf]
        self.names = names
        self.cum = list(itertools.accumulate(weights))

    def __call__(self, rng) -> str:
        return rng.choices(self.names, cum_weights=self.cum)[0]


def _invented(rng, count, parts=(2, 3)) -> list[str]:
    names = set()
    while len(names) < count:
        names.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(*parts))).title())
    return sorted(names)


class Population:
    """Draws visitors; the same seed gives the same people."""

    def __init__(self, seed: int = 2026):
        self.rng = rng = random.Random(seed)
        tail_surnames = _invented(rng, 60_000)
        tail_first = _invented(rng, 8_000, (2, 3))
        self.hispanic_last = _Pick(HISPANIC_SURNAMES, tail_surnames[:25_000], tail=0.35)
        self.hispanic_first = (
            _Pick(HISPANIC_MALE, tail_first[:1500], tail=0.12),
            _Pick(HISPANIC_FEMALE, tail_first[1500:3000], tail=0.12),
        )
        self.anglo_last = _Pick(ANGLO_SURNAMES, tail_surnames[25_000:50_000], tail=0.45)
        self.anglo_first = (
            _Pick(ANGLO_MALE, tail_first[3000:4500], tail=0.2),
            _Pick(ANGLO_FEMALE, tail_first[4500:6000], tail=0.2),
        )
        self.viet_last = _Pick(VIETNAMESE_SURNAMES)
        self.viet_first = (_Pick(VIETNAMESE_MALE), _Pick(VIETNAMESE_FEMALE))
        self.arabic_last = _Pick(ARABIC_SURNAMES, tail_surnames[50_000:55_000], tail=0.3)
        self.arabic_first = (
            _Pick(ARABIC_MALE, tail_first[6000:7000], tail=0.1),
            _Pick(ARABIC_FEMALE, tail_first[7000:], tail=0.1),
        )
        self.other_last = _Pick([(n, 1) for n in tail_surnames[55_000:]])
        self.other_first = _Pick([(n, 1) for n in tail_first])

    def person(self) -> tuple[str, str, str]:
        """(first name, last name, group)."""
        rng = self.rng
        roll = rng.random()
        female = rng.random() < 0.5
        group = ("hispanic", "anglo", "vietnamese", "arabic", "other")[
            (roll >= 0.42) + (roll >= 0.82) + (roll >= 0.87) + (roll >= 0.91)
        ]
        if roll < 0.42:
            first = self.hispanic_first[female](rng)
            last = self.hispanic_last(rng)
            if rng.random() < 0.22:
                last = f"{last} {self.hispanic_last(rng)}"
            if rng.random() < 0.5:
                first, last = first.translate(ACCENTS), last.translate(ACCENTS)
        elif roll < 0.82:
            first, last = self.anglo_first[female](rng), self.anglo_last(rng)
        elif roll < 0.87:
            last = self.viet_last(rng)
            if rng.random() < 0.3:
                first = self.anglo_first[female](rng)
            else:
                first = self.viet_first[female](rng)
                if rng.random() < 0.5:
                    first = f"{'Thị' if female else 'Văn'} {first}"
            if rng.random() < 0.8:
                first, last = _strip_vietnamese(first), _strip_vietnamese(last)
        elif roll < 0.91:
            first, last = self.arabic_first[female](rng), self.arabic_last(rng)
        else:
            first, last = self.other_first(rng), self.other_last(rng)
        return first, last, group

    def visitor(self) -> dict:
        rng = self.rng
        first, last, group = self.person()
        birth = None
        if rng.random() < 0.9:
            birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(68 * 365))
        return {
            "first_name": first,
            "last_name": last,
            "phone": f"({rng.randint(200, 989)}) {rng.randint(200, 999)}-"
            f"{rng.randint(0, 9999):04d}",
            "birth_date": birth.isoformat() if birth else "",
            "language": "es" if group == "hispanic" and rng.random() < 0.6 else "en",
        }


def write_csv(path, count: int, seed: int = 2026) -> None:
    """A CSV for ``import_visitors`` with ``count`` visitors of this population."""
    import csv

    population = Population(seed)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["first_name", "last_name", "phone", "birth_date", "language"]
        )
        writer.writeheader()
        for _ in range(count):
            writer.writerow(population.visitor())
