"""Demo cases: a realistic two and a half months of work, made through the engine's commands.

``approvals serve --demo`` (and ``approvals demo --cases``) loads, after the departments, users
and catalogue of ``cli/demo.py``, about fifty cases of the seven shipped approval items, received
from the first day of the month before last up to the last working day before today (China
time): walk-in registrations at the windows with checked identity numbers and credit codes, then
the reviewers', heads' and windows' steps, one-time notices, a refusal at the window, denials, an
extension, a return, special procedures (检测, 专家评审), a deemed acceptance and a deemed approval,
and cases still open at every step — some of them late.

Nothing is written directly: every case is a sequence of commands run by ``Engine.execute`` as
the demo user whose step it is, at a past moment on a fixed clock (working days only, office
hours, each case's steps in order). Between the commands the deadline sweep (``timers.sweep``) fires
every deadline at the moment it fell due, as the timer process would have, so warnings, cards,
escalations and deemed decisions happen when they would have; at the end the sweep runs at the
real "now" and the supervision scan (``DetectFindings``) looks at every case. So the histories,
deadlines, cards, statistics and findings are all real and every case replays.

Dates are relative to "now" and the working-day calendar, so the demo looks the same whenever it
is loaded; names, numbers and times come from a fixed random seed, so it is deterministic for a
given "now".
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from engine import Actor, Database, Engine, FixedClock
from engine.clock import CHINA_TZ, aware, china_date
from engine import online
from engine.commands import (CompleteTask, DecideExtension, DetectFindings, ExtendDeadline, ReceiveSupplement,
                             ReceiveDeferredMaterial, RecordMaterials, RequestExtension, RequestSupplement, ReturnTask, StartCase, SuspendClocks)
from engine.files import FileStore
from engine.intake import id_check_char, uscc_check_char
from engine.people import actor_for
from engine.store.enums import DeadlineState, TaskKind, TaskState
from engine.store.models import ApplicantAccount, Case, Deadline, Item, Task
from engine.timelimits.workdays import WorkCalendar
from engine.window import Registration, Upload, register

from cli.demo import DEMO_APPLICANT
from timers.sweep import SWEEPER, sweep

SEED = 20260301
#: what the demo applicant's scans hold (a one-page PDF)
DEMO_SCAN = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# ---------------------------------------------------------------------------------------------
# Who applies: people with valid identity numbers, companies with valid credit codes

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
MALE_GIVEN = ["伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "建国", "志强", "海峰", "俊杰", "文博",
              "子轩", "浩然", "宇航", "建华", "国平", "晓东", "振华", "立新", "永康", "德明", "家豪", "天宇"]
FEMALE_GIVEN = ["芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "婷", "雪", "秀英", "桂兰", "晓燕", "丽华", "慧敏",
                "雨涵", "欣怡", "梓萱", "婉清", "佳琪", "思彤", "美玲", "春梅", "海燕", "玉洁", "诗雨", "若曦"]
#: 行政区划代码 of the districts and counties applicants' identity numbers come from
REGIONS = ["350102", "350103", "350104", "350105", "350111", "350121", "350122", "350181", "350203", "350583",
           "330102", "320102", "440106", "360102", "430102"]
DISTRICTS = ["东城区", "西城区", "南湖区", "北山区", "高新区", "经济开发区", "滨江新区"]
STREETS = ["人民路", "解放路", "中山路", "建设路", "五一路", "滨江路", "工业路", "文化路", "学府路", "长乐路", "湖东路",
           "新华街", "和平街", "光明路"]
TRADE_NAMES = ["鑫源", "恒达", "华盛", "瑞丰", "嘉禾", "福泰", "宏图", "安康", "金穗", "锦程", "万家", "百味", "聚贤",
               "永和", "天润", "佳美", "盛世", "康源", "润泽", "兴隆", "和顺", "荣昌", "德馨", "汇丰", "新元", "海通"]

COMPLAINTS = [
    ("complaint", "scjg", "反映某小区门口餐馆后厨卫生状况差，油污直排雨水管"),
    ("efficiency", "scjg", "反映办理营业执照变更时窗口要求重复提交材料，一次性告知不到位"),
    ("complaint", "zjj", "反映所住小区电梯多次故障停运，物业未及时维修"),
    ("consultation", "mz", "咨询结婚登记是否需要预约及所需材料"),
    ("complaint", "wsjk", "反映某游泳馆池水浑浊、更衣室消毒不到位"),
    ("efficiency", "mz", "反映婚姻登记处午间无人值守，群众等候时间长"),
    ("complaint", "zjj", "反映某在建工地夜间施工噪声扰民"),
    ("consultation", "wsjk", "咨询开办美容美发店需要办理哪些卫生许可手续"),
]
UNIT_STAFF = {"scjg": ("shencha", "fuzeren"), "zjj": ("zjj_shencha", "zjj_fuzeren"),
              "mz": ("mz_shencha", "mz_fuzeren"), "wsjk": ("ws_shencha", "ws_fuzeren")}


class People:
    """Deterministic applicants: each name and number once."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.names: set[str] = set()
        self.numbers: set[str] = set()
        self.companies: set[str] = set()

    def name(self, male: bool) -> str:
        while True:
            name = self.rng.choice(SURNAMES) + self.rng.choice(MALE_GIVEN if male else FEMALE_GIVEN)
            if name not in self.names:
                self.names.add(name)
                return name

    def id_number(self, male: bool, today: date, age: tuple[int, int]) -> str:
        """An 18-digit 居民身份证号码 (GB 11643) with its check character."""
        while True:
            born = today - timedelta(days=self.rng.randint(age[0] * 366, age[1] * 365))
            serial = self.rng.randint(0, 99) * 10 + self.rng.choice((1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8))
            first17 = f"{self.rng.choice(REGIONS)}{born:%Y%m%d}{serial:03d}"
            number = first17 + id_check_char(first17)
            if number not in self.numbers:
                self.numbers.add(number)
                return number

    def phone(self) -> str:
        return self.rng.choice(["13", "15", "18", "17", "19"]) + f"{self.rng.randint(0, 999999999):09d}"

    def address(self) -> str:
        return f"{self.rng.choice(DISTRICTS)}{self.rng.choice(STREETS)}{self.rng.randint(1, 399)}号"

    def person(self, today: date, male: bool | None = None, age=(23, 60)) -> dict[str, str]:
        male = self.rng.random() < 0.5 if male is None else male
        return {"kind": "natural", "name": self.name(male), "id_number": self.id_number(male, today, age),
                "phone": self.phone()}

    def credit_code(self) -> str:
        """A 统一社会信用代码 (GB 32100): 91 (企业), a region, an 组织机构代码 with its own GB 11714
        check character, and the code's check character."""
        while True:
            body = "".join(self.rng.choice("0123456789") for _ in range(8))
            total = sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2)))
            check = 11 - total % 11
            org = body + ("X" if check == 10 else "0" if check == 11 else str(check))
            first17 = f"91{self.rng.choice(REGIONS[:8])[:4]}00{org}"
            code = first17 + uscc_check_char(first17)
            if code not in self.numbers:
                self.numbers.add(code)
                return code

    def company(self, trade: str, suffix: str = "有限公司") -> dict[str, str]:
        while True:
            name = f"{self.rng.choice(TRADE_NAMES)}{trade}{suffix}"
            if name not in self.companies:
                self.companies.add(name)
                break
        return {"kind": "legal", "name": name, "credit_code": self.credit_code(),
                "legal_rep": self.name(self.rng.random() < 0.6), "contact": self.name(self.rng.random() < 0.4),
                "phone": self.phone()}


# ---------------------------------------------------------------------------------------------
# What happens to a case: steps on working days counted from the day it came in


@dataclass
class Step:
    """One thing done on a case, ``day`` working days after it came in, by ``user``."""

    day: int
    user: str
    op: str  # register, start, complete, followup, return, receive, materials, extend, request_ext, decide_ext, suspend
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Story:
    item: str
    start: int  # index of the working day it came in
    steps: list[Step]
    label: str = ""
    number: str = ""


def reg(user: str, action: str = "accept", **kw) -> Step:
    return Step(0, user, "register", {"action": action, **kw})


def done(day: int, user: str, element: str, data: dict | None = None, opinion: str = "") -> Step:
    return Step(day, user, "complete", {"element": element, "data": data or {}, "opinion": opinion})


ACCEPTED = "申请材料齐全，符合法定形式，予以受理。"
AGREE = "经审查，申请材料真实有效，符合许可条件，建议准予许可。"


class Catalogue:
    """The registrations and the cases' stories, item by item."""

    def __init__(self, rng: random.Random, today: date, guides: dict[str, dict]):
        self.rng, self.today, self.guides = rng, today, guides
        self.people = People(rng)
        self.serials: dict[str, int] = {}

    def serial(self, key: str) -> int:
        self.serials[key] = self.serials.get(key, 0) + 1
        return self.serials[key]

    def materials(self, item: str) -> list[dict]:
        return self.guides[item].get("materials", [])

    # -- 食品经营许可 ---------------------------------------------------------------------------

    def food_business(self, start: int, plan: str) -> Story:
        item = "SCJG-SPJY"
        formats = {"食品销售经营者": "食品销售", "餐饮服务经营者": "餐饮管理", "单位食堂": "餐饮服务"}
        main_format = self.rng.choice(list(formats))
        applicant = self.people.company(formats[main_format])
        application = {"business_name": applicant["name"], "premises": self.people.address(),
                       "main_format": main_format, "area": self.rng.randint(3, 60) * 10,
                       "safety_manager": applicant["contact"], "manager_phone": applicant["phone"]}
        window, head = "chuangkou", "fuzeren"
        reviewer = self.rng.choice(("shencha", "shencha_b"))
        materials = self.materials(item)
        rules = materials[3]["name"]  # the 规章制度目录, which may be supplied later (容缺)
        layout = materials[2]["name"]
        licence = f"JY{1 if main_format == '食品销售经营者' else 2}3501{self.rng.randint(2, 5):02d}{self.serial(item):06d}"
        registration = dict(applicant=applicant, application=application)
        review = lambda day, inspect=False: done(day, reviewer, "review_materials",  # noqa: E731
                                                  {"review_result": "pass", **({"needs_inspection": "true"} if inspect else {})},
                                                  "材料审查通过，需现场核查。" if inspect else "材料审查通过。")
        site = lambda day, ok=True: done(day, reviewer, "site_inspection",  # noqa: E731
                                         {"inspection_result": "conform" if ok else "nonconform",
                                          "inspection_notes": "经营场所、设备设施与申请材料一致。" if ok
                                          else "粗加工区与切配区未分开设置，存在交叉污染风险；无独立餐具消毒间。"},
                                         "现场核查符合要求。" if ok else "现场核查不符合要求。")
        grant = lambda day: done(day, head, "decide", {"decision": "grant"}, "同意，准予许可。")  # noqa: E731
        issue = lambda day: done(day, window, "issue_licence", {"certificate_no": licence}, "已制证，申请人当场领取。")  # noqa: E731
        steps = {
            "grant": [reg(window, opinion=ACCEPTED, **registration), review(1), grant(2), issue(3)],
            "grant_inspected": [reg(window, opinion=ACCEPTED, **registration), review(1, True), site(3), grant(4),
                                issue(5)],
            "deferred": [reg(window, opinion="主要材料齐全，规章制度目录容缺受理，领证前补齐。",
                             deferred=(rules,), **registration), review(2), grant(3),
                         Step(4, window, "deferred_in", {"material": rules, "note": "申请人领证前补交规章制度目录。"}),
                         issue(4)],
            "supplement": [reg(window, "notice", missing=(layout,), note="请补正后再次提交，补齐后即予受理。",
                               **registration),
                           Step(3, window, "receive", {"note": "申请人已补齐经营布局和操作流程文件。"}),
                           Step(3, window, "materials", {}),
                           done(3, window, "accept_application", {"acceptance": "accept"}, "补正材料齐全，予以受理。"),
                           review(5, True), site(6), grant(7), issue(8)],
            "refuse": [reg(window, "refuse", opinion="申请人经营场所位于县域，依法应向县市场监督管理局提出申请，本机关不予受理。",
                           **registration)],
            "deny": [reg(window, opinion=ACCEPTED, **registration), review(1, True), site(3, ok=False),
                     done(4, head, "decide", {"decision": "deny"},
                          "经现场核查，经营场所布局不符合《食品经营许可和备案管理办法》要求，不予许可。")],
            "returned": [reg(window, opinion=ACCEPTED, **registration), review(1),
                         Step(2, head, "return", {"element": "decide", "to": "review_materials",
                                                  "reason": "未核对从业人员健康证明，请补充审查。"}),
                         done(3, reviewer, "review_materials", {"review_result": "pass"}, "已核对从业人员健康证明。"),
                         grant(4), issue(5)],
            "extension": [reg(window, opinion=ACCEPTED, **registration), review(2, True),
                          Step(4, head, "extend", {"reason": "现场核查发现需委托检验机构复核设备设施，依法延期 10 个工作日。",
                                                   "days": 10}),
                          site(8), grant(9), issue(10)],
            "late": [reg(window, opinion=ACCEPTED, **registration), review(5), grant(12), issue(13)],
            # still open
            "at_window": [reg(window, "register", **registration)],
            "awaiting_supplement": [reg(window, "notice", missing=(layout, materials[0]["name"]),
                                        note="申请书缺少法定代表人签字，布局图未标注功能分区。", **registration)],
            "at_review": [reg(window, opinion=ACCEPTED, **registration)],
            "at_inspection": [reg(window, opinion=ACCEPTED, **registration), review(1, True)],
            "at_decision": [reg(window, opinion=ACCEPTED, **registration), review(2)],
        }[plan]
        return Story(item, start, steps, plan)

    # -- 公共场所卫生许可 (检测不计时) --------------------------------------------------------------

    def hygiene(self, start: int, plan: str) -> Story:
        item = "WSJK-GGCS"
        kinds = {"住宿场所": ("酒店管理", "酒店"), "沐浴场所": ("休闲服务", "浴场"), "美容美发场所": ("美容美发", "美发沙龙"),
                 "游泳场所": ("体育文化", "游泳馆")}
        category = self.rng.choice(list(kinds))
        trade, place = kinds[category]
        applicant = self.people.company(trade)
        application = {"place_name": f"{applicant['name'][:2]}{place}", "premises": self.people.address(),
                       "category": category, "area": self.rng.randint(8, 300) * 10}
        window, reviewer, head = "ws_chuangkou", "ws_shencha", "ws_fuzeren"
        registration = dict(applicant=applicant, application=application)
        year = self.today.year
        report = f"JC-{year}-{self.rng.randint(100, 999):04d}"
        review = lambda day: done(day, reviewer, "review_materials", {"review_result": "pass"},  # noqa: E731
                                  "材料审查通过，委托检测机构进行卫生检测。")
        testing = lambda day, ok=True: done(day, reviewer, "hygiene_testing",  # noqa: E731
                                            {"testing_result": "qualified" if ok else "unqualified", "report_no": report},
                                            "检测结果符合国家卫生标准。" if ok else "检测报告显示池水浑浊度、余氯超标。")
        steps = {
            "grant": [reg(window, opinion=ACCEPTED, **registration), review(1), testing(6),
                      done(7, head, "decide", {"decision": "grant"}, "准予许可。"),
                      done(8, window, "issue_licence", {"certificate_no": f"卫公证字〔{year}〕第{self.serial(item):04d}号"},
                           "已发证。")],
            "deny": [reg(window, opinion=ACCEPTED, **registration), review(1), testing(7, ok=False),
                     done(8, head, "decide", {"decision": "deny"}, "卫生检测不合格，不符合《公共场所卫生管理条例》要求，不予许可。")],
            # still open
            "at_window": [reg(window, "register", **registration)],
            "testing": [reg(window, opinion=ACCEPTED, **registration), review(1)],
            # the window never took it up: accepted by law when its 5 working days were over
            "deemed_acceptance": [reg(window, "register", **registration),
                                  done(6, reviewer, "review_materials", {"review_result": "pass"},
                                       "视为受理后审查，材料符合要求，委托检测。")],
        }[plan]
        return Story(item, start, steps, plan)

    # -- 动物诊疗许可 (超期默许) -------------------------------------------------------------------

    def animal_clinic(self, start: int, plan: str) -> Story:
        item = "NYNC-DWZL"
        applicant = self.people.company("宠物医疗", "有限公司")
        application = {"clinic_name": f"{applicant['name'][:2]}动物医院", "premises": self.people.address(),
                       "scope": self.rng.choice(["动物颅腔、胸腔和腹腔手术", "不含颅腔、胸腔和腹腔手术"]),
                       "vets": self.rng.randint(1, 6)}
        window, reviewer, head = "nync_chuangkou", "nync_shencha", "nync_fuzeren"
        registration = dict(applicant=applicant, application=application)
        licence = f"动诊字 3501{self.rng.randint(2, 5):02d}-{self.today.year}-{self.serial(item):03d}"
        steps = {
            "grant": [reg(window, opinion=ACCEPTED, **registration),
                      done(3, reviewer, "review_materials", {"review_result": "pass", "review_notes": "现场核查符合要求"},
                           AGREE),
                      done(4, head, "decide", {"decision": "grant"}, "同意。"),
                      done(5, window, "issue_licence", {"certificate_no": licence}, "已发证。")],
            "deny": [reg(window, opinion=ACCEPTED, **registration),
                     done(4, reviewer, "review_materials",
                          {"review_result": "fail", "review_notes": "诊疗场所距畜禽养殖场约 150 米，不足二百米"},
                          "选址不符合规定。"),
                     done(5, head, "decide", {"decision": "deny"},
                          "诊疗场所选址距离畜禽养殖场不足二百米，不符合《动物诊疗机构管理办法》第五条规定，不予许可。")],
            # the reviewer and the head stay silent: review deemed agreed, then 超期默许 at the statutory limit
            "deemed": [reg(window, opinion=ACCEPTED, **registration),
                       Step(11, reviewer, "followup", {"opinion": "审查期间因人员外出培训未及时出具意见，补充意见：材料符合要求。"}),
                       done(21, window, "issue_licence", {"certificate_no": licence}, "超期默许，依法发证。")],
            # still open
            "at_review": [reg(window, opinion=ACCEPTED, **registration)],
            "at_decision": [reg(window, opinion=ACCEPTED, **registration),
                            done(3, reviewer, "review_materials", {"review_result": "pass", "review_notes": "现场核查符合要求"},
                                 AGREE)],
        }[plan]
        return Story(item, start, steps, plan)

    # -- 结婚登记 (即办件) -------------------------------------------------------------------------

    def marriage(self, start: int, plan: str) -> Story:
        item = "MZ-JHDJ"
        man = self.people.person(self.today, male=True, age=(23, 40))
        woman = self.people.person(self.today, male=False, age=(21, 38))
        applicant = man if self.rng.random() < 0.6 else woman
        application = {"man_name": man["name"], "man_id": man["id_number"], "woman_name": woman["name"],
                       "woman_id": woman["id_number"]}
        window = "mz_chuangkou"
        registration = dict(applicant=applicant, application=application)
        certificate = f"J350102-{self.today.year}-{self.serial(item):06d}"
        steps = {
            "grant": [reg(window, opinion="双方身份证件、户口簿核验无误，声明书已签字。", checked="checked", **registration),
                      done(0, window, "register", {"decision": "grant", "certificate_no": certificate},
                           "符合结婚条件，予以登记，当场颁发结婚证。")],
            "refuse": [reg(window, "refuse", opinion="女方所持户口簿与身份证登记信息不一致，请到户籍地派出所更正后再来办理。",
                           checked="mismatch", **registration)],
            "deny": [reg(window, opinion="双方身份证件、户口簿核验无误。", checked="checked", **registration),
                     done(0, window, "register", {"decision": "deny"},
                          "经全国婚姻登记信息系统核查，男方现有婚姻登记记录尚未解除，不符合《民法典》第一千零四十二条规定，不予登记。")],
        }[plan]
        return Story(item, start, steps, plan)

    # -- 企业投资项目并联审批 (联办件) ---------------------------------------------------------------

    def investment(self, start: int, plan: str) -> Story:
        item = "FGW-TZXM"
        kinds = [("新能源科技", "年产 5GWh 储能电池生产线项目", "新建厂房及配套用房约 8.6 万平方米，购置电芯组装、化成分容等生产设备 320 台（套）。"),
                 ("智能装备", "智能制造产业园一期项目", "新建标准厂房 6 栋、研发楼 1 栋，总建筑面积约 12 万平方米。"),
                 ("冷链物流", "农产品冷链物流中心项目", "新建冷库 3 万吨、分拣中心及配套设施，总建筑面积约 4.2 万平方米。"),
                 ("生物医药", "生物医药研发生产基地项目", "新建研发中心、GMP 生产车间及配套设施，总建筑面积约 6.8 万平方米。")]
        trade, project, content = kinds[self.serial(item + "/kind") % len(kinds)]
        applicant = self.people.company(trade, "股份有限公司")
        application = {"project_name": f"{applicant['name'][:2]}{project}",
                       "location": f"{self.rng.choice(['高新区', '经济开发区', '滨江新区'])}{self.rng.choice(STREETS)}以东地块",
                       "investment": self.rng.randint(8, 60) * 1000, "content": content}
        window, lead, head = "fgw_chuangkou", "fgw_shencha", "fgw_fuzeren"
        registration = dict(applicant=applicant, application=application)
        opinions = lambda zrzy, sthj, zjj: [  # noqa: E731
            done(zrzy, "zrzy_shencha", "zrzy_opinion", {"zrzy_result": "agree", "zrzy_notes": "符合国土空间规划，同意用地预审。"}, "同意。"),
            done(sthj, "sthj_shencha", "sthj_opinion", {"sthj_result": "agree", "sthj_notes": "环评报告书已批复。"}, "同意。"),
            done(zjj, "zjj_shencha", "zjj_opinion", {"zjj_result": "agree", "zjj_notes": "建设条件符合要求。"}, "同意。")]
        consolidate = lambda day: done(day, lead, "consolidate",  # noqa: E731
                                       {"consolidated": "all_agree", "consolidation_notes": "自然资源、生态环境、住建三部门均同意。"},
                                       "汇总意见：各部门均同意，建议予以核准。")
        approval = f"发改审批〔{self.today.year}〕{self.serial(item) + 20}号"
        steps = {
            "grant": [reg(window, opinion=ACCEPTED, **registration), *opinions(2, 3, 4), consolidate(5),
                      done(6, head, "decide", {"decision": "grant"}, "同意核准。"),
                      done(7, window, "issue_licence", {"certificate_no": approval}, "批复文件已送达。")],
            "extension": [reg(window, opinion=ACCEPTED, **registration), *opinions(2, 4, 4),
                          Step(5, lead, "request_ext", {"reason": "项目涉及跨区域管线迁改，需征求相关区政府意见。", "days": 15}),
                          Step(6, "fushizhang", "decide_ext", {"approve": True, "note": "同意延期 15 个工作日。"}),
                          consolidate(6), done(8, head, "decide", {"decision": "grant"}, "同意核准。"),
                          done(9, window, "issue_licence", {"certificate_no": approval}, "批复文件已送达。")],
            # still open: 住建 is late with its opinion
            "late_opinion": [reg(window, opinion=ACCEPTED, **registration), *opinions(2, 3, 99)[:2]],
            # still open: expert review (专家评审) stops the clocks
            "expert_review": [reg(window, opinion=ACCEPTED, **registration), *opinions(1, 2, 3),
                              Step(4, lead, "suspend", {"kind": "expert_review", "days": 8,
                                                        "reason": "项目能耗指标需组织专家评审节能报告。"})],
        }[plan]
        return Story(item, start, steps, plan)

    # -- 网上申请: the demo applicant's own cases (cli/demo.py DEMO_APPLICANT) ---------------------

    def online(self, start: int, plan: str) -> Story:
        """王小红 applies online for the demo item, with her scans; no random draw, so that adding
        these stories changes none of the others."""
        item = "GENERAL"
        subjects = {"granted": ("开办社区托管服务点", "在南湖区湖东路开办社区托管服务点"),
                    "awaiting_supplement": ("申请户外广告设置", "在人民路店铺门头设置户外广告一处"),
                    "at_review": ("申请临时占用道路", "店面装修期间临时占用人行道 3 天")}
        subject, description = subjects[plan]
        apply = Step(0, "", "online", {"application": {"subject": subject, "description": description}})
        # the window checks the uploaded scans first (an online case is not accepted unchecked)
        checked = Step(1, "chuangkou", "materials", {})
        accept = done(1, "chuangkou", "accept_application", {"acceptance": "accept"}, ACCEPTED)
        steps = {
            "granted": [apply, checked, accept, done(2, "shencha", "review", {"review_result": "pass"}, AGREE),
                        done(3, "fuzeren", "decide", {"decision": "grant"}, "同意，准予许可。"),
                        # 好差评: she rates it the next day (the supervisor's 好差评 page has one to show)
                        Step(4, "", "rate", {"score": 5, "comment": "网上提交很方便，审批比承诺的还快。"})],
            "awaiting_supplement": [apply, Step(1, "chuangkou", "notice", {
                "materials": ("申请人身份证明",), "note": "身份证扫描件模糊，请重新上传清晰的正反面扫描件。"})],
            "at_review": [apply, checked, accept],
        }[plan]
        return Story(item, start, steps, f"网上申请：{plan}")

    # -- 12345 诉求件 -----------------------------------------------------------------------------

    def complaint(self, start: int, plan: str) -> Story:
        item = "ZWFW-12345"
        female = self.rng.random() < 0.5
        caller = f"{self.rng.choice(SURNAMES)}{'女士' if female else '先生'}"
        category, unit, content = COMPLAINTS[self.serial(item + "/content") % len(COMPLAINTS)]
        handler, unit_head = UNIT_STAFF[unit]
        first = [Step(0, "rexian", "start", {"applicant": caller}),
                 done(0, "rexian", "register", {"acceptance": "accept", "category": category, "content": content,
                                                "responsible_unit": unit}, "登记转承办单位办理。")]
        handle = lambda day, text="已核实情况并处理。": done(day, handler, "handle",  # noqa: E731
                                                         {"handling_result": "resolved", "handling_notes": text}, text)
        answer = lambda day: done(day, unit_head, "answer", {"answer_text": "您反映的问题已核实处理，感谢您的监督。"})  # noqa: E731
        follow = lambda day, how: done(day, "rexian", "follow_up", {"satisfaction": how})  # noqa: E731
        steps = {
            "closed": [*first, handle(2), answer(3), follow(4, self.rng.choice(["very_satisfied", "satisfied"])),
                       done(4, "rexian", "close", {"closing_notes": "回访满意，归档。"})],
            "reopened": [*first, handle(2, "已电话联系诉求人说明情况。"), answer(3), follow(4, "unsatisfied"),
                         handle(6, "已约谈相关负责人并现场整改。"), answer(7), follow(8, "basically_satisfied"),
                         done(8, "rexian", "close", {"closing_notes": "重新办理后基本满意，归档。"})],
            "open": first,
        }[plan]
        return Story(item, start, steps, plan)

    # -- 食品生产许可 (上报件) ----------------------------------------------------------------------

    def food_production(self, start: int, plan: str) -> Story:
        item = "SCJG-SPSC"
        categories = ["糕点", "饮料", "调味品", "豆制品", "速冻食品", "茶叶及相关制品", "炒货食品及坚果制品", "方便食品"]
        category = self.rng.choice(categories)
        applicant = self.people.company("食品")
        premises = f"某县{self.rng.choice(STREETS)}食品工业园{self.rng.randint(1, 40)}号"
        application = {"producer_name": applicant["name"], "premises": premises, "category": category}
        window, county, city, head = "xian_chuangkou", "xian_shencha", "shencha", "fuzeren"
        registration = dict(applicant=applicant, application=application)
        licence = f"SC1{self.rng.randint(0, 3)}{self.rng.randint(1, 9)}3501{self.rng.randint(2, 5):02d}{self.serial(item):05d}"
        prelim = lambda day, ok=True: done(day, county, "preliminary_review",  # noqa: E731
                                           {"preliminary_result": "recommend" if ok else "not_recommend",
                                            "preliminary_notes": "现场核查生产场所、设备布局符合要求。" if ok
                                            else "原料库与成品库混用，工艺布局存在交叉污染。"},
                                           "初审通过，报市局审批。" if ok else "初审不予推荐，报市局审批。")
        steps = {
            "grant": [reg(window, opinion=ACCEPTED, **registration), prelim(4),
                      done(6, city, "city_review", {"city_review_result": "pass"}, AGREE),
                      done(7, head, "city_decide", {"decision": "grant"}, "准予许可。"),
                      done(8, window, "issue_licence", {"certificate_no": licence}, "许可证已送达。")],
            "deny": [reg(window, opinion=ACCEPTED, **registration), prelim(3, ok=False),
                     done(5, city, "city_review", {"city_review_result": "fail"}, "同意县局初审意见。"),
                     done(6, head, "city_decide", {"decision": "deny"},
                          "生产工艺布局不符合《食品生产许可管理办法》要求，不予许可。")],
            # still open
            "at_preliminary": [reg(window, opinion=ACCEPTED, **registration)],
            "at_city": [reg(window, opinion=ACCEPTED, **registration), prelim(3)],
        }[plan]
        return Story(item, start, steps, plan)


# ---------------------------------------------------------------------------------------------
# The mix: concluded cases spread over the period, open ones at fixed ages before today

#: (builder, plan, how many): concluded, placed anywhere in the period their steps fit in
CONCLUDED = [
    ("marriage", "grant", 7), ("marriage", "refuse", 1), ("marriage", "deny", 1),
    ("food_business", "grant", 2), ("food_business", "grant_inspected", 2), ("food_business", "deferred", 1),
    ("food_business", "supplement", 1), ("food_business", "refuse", 1), ("food_business", "deny", 1),
    ("food_business", "returned", 1), ("food_business", "extension", 1), ("food_business", "late", 1),
    ("hygiene", "grant", 2), ("hygiene", "deny", 1),
    ("animal_clinic", "grant", 2), ("animal_clinic", "deny", 1), ("animal_clinic", "deemed", 1),
    ("investment", "grant", 1), ("investment", "extension", 1),
    ("complaint", "closed", 2), ("complaint", "reopened", 1),
    ("food_production", "grant", 2), ("food_production", "deny", 1),
]
#: (builder, plan, working days before the last working day before today it came in): still open
OPEN = [
    ("food_business", "at_window", 0), ("hygiene", "at_window", 1),
    ("food_business", "awaiting_supplement", 3),
    ("food_business", "at_review", 1), ("animal_clinic", "at_review", 2), ("food_business", "at_inspection", 3),
    ("food_business", "at_decision", 3), ("animal_clinic", "at_decision", 4), ("food_production", "at_city", 5),
    ("hygiene", "testing", 4), ("investment", "expert_review", 7), ("complaint", "open", 1),
    # late enough for cards: yellow (promised limit or a step's limit), red (statutory limit)
    ("food_business", "at_decision", 12), ("complaint", "open", 7), ("investment", "late_opinion", 9),
    ("food_business", "at_review", 22), ("food_production", "at_preliminary", 22),
    # accepted by law when the window let the acceptance limit pass
    ("hygiene", "deemed_acceptance", 12),
]
#: the demo applicant's online applications (网上办事大厅), made after all the others so that they
#: change none of them: (plan, working days before the last working day before today it came in)
ONLINE = [("granted", 20), ("awaiting_supplement", 3), ("at_review", 2)]


def first_day(today: date) -> date:
    """The first day of the month before last: where the demo's cases begin."""
    month = today.month - 2
    return date(today.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def loaded_at(now: datetime) -> datetime:
    """When the demo catalogue is taken to have been loaded: before the first demo case."""
    first = first_day(china_date(aware(now)))
    return datetime(first.year, first.month, first.day, 8, 0, tzinfo=CHINA_TZ)


def working_days(calendar: WorkCalendar, today: date) -> list[date]:
    """The working days from the first day of the month before last up to the day before today."""
    days, day = [], first_day(today)
    while day < today:
        if calendar.is_workday(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def plan(calendar: WorkCalendar, today: date, guides: dict[str, dict], seed: int = SEED) -> tuple[list[date], list[Story]]:
    """The working days and the stories, every step on one of those days (no engine needed)."""
    rng = random.Random(seed)
    days = working_days(calendar, today)
    last = len(days) - 1
    catalogue = Catalogue(rng, today, guides)
    stories: list[Story] = []
    concluded = [(builder, name) for builder, name, count in CONCLUDED for _ in range(count)]
    rng.shuffle(concluded)
    for n, (builder, name) in enumerate(concluded):
        probe = getattr(catalogue, builder)(0, name)
        length = max(s.day for s in probe.steps)
        latest = last - length - 1  # concluded at least a day before the last working day
        # spread evenly over the period, a little jitter, never past where its steps still fit
        start = min(latest, max(0, round(n * last / len(concluded)) + rng.randint(-2, 2)))
        if start < 0:
            continue  # a period too short for this story (never with two months)
        probe.start = start
        stories.append(probe)
    for builder, name, age in OPEN:
        start = last - age
        if start >= 0:
            stories.append(getattr(catalogue, builder)(start, name))
    for name, age in ONLINE:
        if last - age >= 0:
            stories.append(catalogue.online(last - age, name))
    return days, stories


# ---------------------------------------------------------------------------------------------
# Running the stories through the engine


@dataclass
class Seeded:
    cases: int
    commands: int
    fired: int
    findings: int
    seconds: float

    @classmethod
    def nothing(cls) -> "Seeded":
        return cls(0, 0, 0, 0, 0.0)


def _moments(days: list[date], story: Story, rng: random.Random) -> list[datetime]:
    """A moment in office hours for each step, strictly later than the one before."""
    moments: list[datetime] = []
    for step in story.steps:
        day = days[story.start + step.day]
        previous = moments[-1] if moments else None
        if previous is not None and previous.date() == day:
            moment = previous + timedelta(minutes=rng.randint(15, 70))
        else:
            morning = rng.random() < 0.55
            minutes = rng.randint(9 * 60, 11 * 60 + 30) if morning else rng.randint(14 * 60, 17 * 60)
            moment = datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ) + timedelta(minutes=minutes)
        moments.append(moment)
    return moments


class Runner:
    def __init__(self, db: Database, now: datetime):
        self.db, self.now = db, aware(now)
        self.clock = FixedClock(self.now)
        self.engine = Engine(db, self.clock)
        self.files = FileStore()
        self.guides: dict[str, dict] = {}
        self.actors: dict[str, Actor] = {}
        self.commands = 0
        self.fired = 0

    def actor(self, username: str) -> Actor:
        if username not in self.actors:
            with self.db.reader() as session:
                self.actors[username] = actor_for(session, username)
        return self.actors[username]

    def execute(self, command, username: str, at: datetime):
        self.commands += 1
        return self.engine.execute(command, self.actor(username), at=at)

    def catch_up(self, until: datetime) -> None:
        """Fire every deadline due up to ``until`` at the moment it fell due, as the timer process
        (sweeping every 30 seconds) would have."""
        while True:
            with self.db.reader() as session:
                due = session.scalar(select(func.min(Deadline.due_at)).where(Deadline.state == DeadlineState.ARMED))
            if due is None or aware(due) > until:
                return
            self.clock.set(aware(due))
            report = sweep(self.engine, aware(due))
            if report.failed:
                raise RuntimeError(f"演示办件：时限触发失败 {report.failed}")
            self.fired += report.fired
            self.commands += report.fired

    def task(self, number: str, element: str, kind: str = TaskKind.BPMN) -> int:
        with self.db.reader() as session:
            found = session.scalar(select(Task.id).join(Case, Task.case_id == Case.id).where(
                Case.number == number, Task.element_id == element, Task.kind == kind,
                Task.state == TaskState.READY).order_by(Task.id.desc()).limit(1))
        if found is None:
            raise RuntimeError(f"演示办件 {number}：没有待办的“{element}”")
        return found

    def run(self, story: Story, step: Step, at: datetime) -> None:
        self.clock.set(at)
        a, user = step.args, step.user
        if step.op == "register":
            statuses = _statuses(self.guides[story.item], a.get("missing", ()), a.get("deferred", ()))
            acceptance = {"identity_checked": a["checked"]} if "checked" in a else {}
            result = register(self.engine, self.actor(user), Registration(
                item=story.item, applicant=a["applicant"], application=a["application"], statuses=statuses,
                action=a["action"], acceptance_values=acceptance, opinion=a.get("opinion", ""),
                note=a.get("note", "")), self.files)
            if result.refused:
                raise RuntimeError(f"演示办件 {result.case}：{result.refused}")
            self.commands += 2 + (a["action"] != "register")
            story.number = result.case
        elif step.op == "online":
            with self.db.reader() as session:
                account = session.scalar(select(ApplicantAccount).where(
                    ApplicantAccount.login == DEMO_APPLICANT["id_number"]))
                session.expunge(account)
            guide = self.guides[story.item]
            scans = tuple(Upload(m["name"], f"{m['name']}.pdf", DEMO_SCAN) for m in guide.get("materials", [])
                          if m.get("required"))
            story.number = online.apply(self.engine, account, online.OnlineApplication(story.item, a["application"], scans),
                                        self.files)
            self.commands += 1 + len(scans)
        elif step.op == "rate":  # the applicant's own 好差评, from the online hall
            with self.db.reader() as session:
                account = session.scalar(select(ApplicantAccount).where(
                    ApplicantAccount.login == DEMO_APPLICANT["id_number"]))
                session.expunge(account)
            online.rate(self.engine, account, story.number, a["score"], a["comment"])
            self.commands += 1
        elif step.op == "notice":
            self.execute(RequestSupplement(case=story.number, materials=a["materials"], note=a["note"]), user, at)
        elif step.op == "start":
            case = self.execute(StartCase(item=story.item, applicant=a["applicant"]), user, at)
            story.number = case.number
        elif step.op == "complete":
            self.execute(CompleteTask(task=self.task(story.number, a["element"]), data=a["data"],
                                      opinion=a["opinion"]), user, at)
        elif step.op == "followup":
            with self.db.reader() as session:
                task = session.scalar(select(Task.id).join(Case, Task.case_id == Case.id).where(
                    Case.number == story.number, Task.kind == TaskKind.FOLLOWUP, Task.state == TaskState.READY))
            self.execute(CompleteTask(task=task, opinion=a["opinion"]), user, at)
        elif step.op == "return":
            self.execute(ReturnTask(task=self.task(story.number, a["element"]), to=a["to"], reason=a["reason"]),
                         user, at)
        elif step.op == "receive":
            self.execute(ReceiveSupplement(case=story.number, note=a["note"]), user, at)
        elif step.op == "materials":  # the checklist again, now complete
            statuses = _statuses(self.guides[story.item], (), ())
            self.execute(RecordMaterials(case=story.number, statuses=statuses), user, at)
        elif step.op == "deferred_in":  # a 容缺 material brought in before the licence
            self.execute(ReceiveDeferredMaterial(case=story.number, material=a["material"], note=a["note"]), user, at)
        elif step.op == "extend":
            self.execute(ExtendDeadline(case=story.number, reason=a["reason"], days=a["days"]), user, at)
        elif step.op == "request_ext":
            self.execute(RequestExtension(case=story.number, reason=a["reason"], days=a["days"]), user, at)
        elif step.op == "decide_ext":
            self.execute(DecideExtension(case=story.number, approve=a["approve"], note=a["note"]), user, at)
        elif step.op == "suspend":
            self.execute(SuspendClocks(case=story.number, kind=a["kind"], days=a["days"], reason=a["reason"]), user, at)
        else:  # pragma: no cover - a typo in the stories above
            raise ValueError(step.op)


def _statuses(guide: dict, missing, deferred) -> tuple[tuple[str, str], ...]:
    out = []
    for m in guide.get("materials", []):
        name = m["name"]
        out.append((name, "missing" if name in missing else "deferred" if name in deferred
                    else "received" if m.get("required") else "na"))
    return tuple(out)


def seed_cases(db: Database, now: datetime, seed: int = SEED) -> Seeded:
    """Make the demo cases in a database holding the demo users, catalogue and calendar (see the
    module). ``now`` is the real time: every case happened before it."""
    began = time.perf_counter()
    runner = Runner(db, now)
    with db.reader() as session:
        calendar = WorkCalendar.load(session)
        guides = {code: guide or {} for code, guide in session.execute(select(Item.code, Item.guide))}
    runner.guides = guides
    days, stories = plan(calendar, china_date(runner.now), guides, seed)
    rng = random.Random(seed + 1)
    events = []
    for n, story in enumerate(stories):
        for i, (step, at) in enumerate(zip(story.steps, _moments(days, story, rng))):
            events.append((at, n, i, story, step))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    for at, _, _, story, step in events:
        if at >= runner.now:
            break
        runner.catch_up(at)
        runner.run(story, step, at)
    runner.catch_up(runner.now)
    runner.clock.set(runner.now)
    report = sweep(runner.engine, runner.now)  # the timer process's sweep at the real "now"
    runner.fired += report.fired
    scan = runner.engine.execute(DetectFindings(), SWEEPER, at=runner.now)
    runner.commands += report.fired + 1
    return Seeded(len(stories), runner.commands, runner.fired, len(scan), time.perf_counter() - began)
