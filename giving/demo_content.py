"""The demo's campaigns, in English and Chinese; stories are invented and name no child."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoCampaign:
    key: str
    language: str
    title: str
    summary: str
    story: str
    goal_major: str
    currency: str
    region: str
    category: str
    end_in_days: int
    state: str  # live, in_review, draft, closed
    featured: bool
    colour: tuple[int, int, int]


DEMO_CAMPAIGNS: tuple[DemoCampaign, ...] = (
    DemoCampaign(
        key="lunch",
        language="zh",
        title="山区小学午餐计划",
        summary="为贵州山区一所小学的120名学生提供一个学期的营养午餐。",
        story=(
            "## 为什么需要午餐\n\n"
            "学校离大多数学生的家有一个多小时的山路。很多孩子早上六点出门，"
            "中午只能吃自带的冷饭或者干脆不吃。\n\n"
            "## 钱怎么用\n\n"
            "- 每名学生每天午餐约 **5 元**（米饭、一荤一素、汤）\n"
            "- 一个学期约 90 个上学日\n"
            "- 厨房燃气和餐具由学校承担\n\n"
            "每一笔支出都会附上发票，并在账本中公开。"
        ),
        goal_major="54000",
        currency="CNY",
        region="CN-GZ",
        category="food",
        end_in_days=60,
        state="live",
        featured=True,
        colour=(214, 120, 62),
    ),
    DemoCampaign(
        key="bus",
        language="en",
        title="Safe rides to school in the Liangshan hills",
        summary="Replace an over-crowded minivan with a licensed school bus service for 60 pupils.",
        story=(
            "## The problem\n\n"
            "Every morning a single minivan carries more than twenty children along a "
            "mountain road built for far fewer. Parents have no other way to get their "
            "children to school.\n\n"
            "## The plan\n\n"
            "A licensed operator will run a proper school bus, with a safety escort, for one "
            "school year. The county education bureau has agreed the route.\n\n"
            "Every payment to the operator is published with its invoice."
        ),
        goal_major="80000",
        currency="CNY",
        region="CN-SC",
        category="transport",
        end_in_days=45,
        state="live",
        featured=True,
        colour=(46, 110, 160),
    ),
    DemoCampaign(
        key="winter",
        language="zh",
        title="冬季温暖包：给留守儿童的棉衣和被子",
        summary="为甘肃农村的留守儿童送去棉衣、棉鞋和厚被子，帮助他们度过寒冬。",
        story=(
            "甘肃的冬天夜里常常低于零下十五度。许多留守儿童和祖父母住在一起，"
            "家里没有暖气。\n\n"
            "每个温暖包包括：一件棉衣、一双棉鞋、一条厚被子，约 **300 元**。"
            "我们会公开每一批采购的票据。"
        ),
        goal_major="30000",
        currency="CNY",
        region="CN-GS",
        category="shelter",
        end_in_days=30,
        state="live",
        featured=False,
        colour=(120, 86, 160),
    ),
    DemoCampaign(
        key="hearing",
        language="en",
        title="Hearing checks and hearing aids for children in Yunnan",
        summary="Screen 400 primary pupils and fit hearing aids for those who need them.",
        story=(
            "Untreated hearing loss is often mistaken for a child being slow at school. "
            "With a partner clinic we will screen every pupil in four primary schools and fit "
            "and follow up hearing aids.\n\n"
            "Costs: screening kits, audiologist visits and the aids themselves."
        ),
        goal_major="12000",
        currency="USD",
        region="CN-YN",
        category="health",
        end_in_days=90,
        state="live",
        featured=False,
        colour=(40, 140, 110),
    ),
    DemoCampaign(
        key="books",
        language="en",
        title="Reading corners for migrant children's schools",
        summary=(
            "Build reading corners with 2,000 books in three schools for migrant workers' children."
        ),
        story=(
            "Schools for migrant workers' children on the edge of Guangzhou have almost no "
            "library books. Each reading corner gets shelves, cushions and about 700 books chosen "
            "with the teachers."
        ),
        goal_major="25000",
        currency="CNY",
        region="CN-GD",
        category="education",
        end_in_days=75,
        state="in_review",
        featured=False,
        colour=(180, 150, 40),
    ),
    DemoCampaign(
        key="desks",
        language="zh",
        title="给乡村教室换上新课桌椅",
        summary="为河南一所乡村小学更换已经使用二十多年的破旧课桌椅。",
        story="教室里的课桌椅很多已经松动、开裂。我们计划更换 200 套课桌椅。",
        goal_major="40000",
        currency="CNY",
        region="CN-HA",
        category="education",
        end_in_days=80,
        state="draft",
        featured=False,
        colour=(90, 90, 90),
    ),
)


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    password: str
    display_name: str


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("admin", "admin@demo.example.org", "demo-admin-pass", "Demo Admin"),
    DemoAccount("organiser", "organiser@demo.example.org", "demo-organiser-pass", "王老师"),
    DemoAccount("auditor", "auditor@demo.example.org", "demo-auditor-pass", "Demo Auditor"),
    DemoAccount("donor", "donor@demo.example.org", "demo-donor-pass", "Demo Donor"),
    DemoAccount("host finance", "finance@demo.example.org", "demo-finance-pass", "李会计"),
)

DEMO_HOST = {
    "name": "Demo Children's Welfare Foundation",
    "registration_number": "53100000DEMO00001X",
    "country": "CN",
    "contact_email": "office@demo.example.org",
    "contact_phone": "+86 10 0000 0000",
}
