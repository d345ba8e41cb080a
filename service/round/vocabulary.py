"""The words of the generated rounds: service domains with their Chinese needs, projects and
organizations, places (townships, communities, districts), names, titles, mentor areas and tags.
Data only; service.round.generate draws from it."""

from __future__ import annotations

from dataclasses import dataclass

from venture.v1 import matching_pb2


@dataclass(frozen=True, slots=True)
class Domain:
    """What a service domain looks like in applications, organizations and needs."""

    name: str
    people: str
    suffixes: tuple[str, ...]
    """Endings of a registered organization's name."""
    teams: tuple[str, ...]
    """Endings of a volunteer team's name."""
    projects: tuple[str, ...]
    needs: tuple[tuple[str, str], ...]
    """(short name, what the community asks for)."""


def domain(name: str, people: str, suffixes: str, teams: str, projects: str, needs: str) -> Domain:
    """A domain from space-separated words and needs given as "name：text" lines."""
    pairs = tuple(tuple(line.split("：", 1)) for line in needs.strip().splitlines())
    return Domain(
        name,
        people,
        tuple(suffixes.split()),
        tuple(teams.split()),
        tuple(projects.split()),
        tuple((a.strip(), b.strip()) for a, b in pairs),
    )


DOMAINS: dict[str, Domain] = {
    "elderly": domain(
        "为老服务",
        "辖区老年人",
        "助老服务中心 长者关爱协会 居家养老服务社 银龄互助会",
        "银发志愿服务队 助老志愿队",
        "社区助老食堂 失能老人居家探访 银龄互助小组 老年人防诈骗课堂 高龄老人上门助浴 "
        "认知症友好社区 独居老人智慧守护 老年人数字扫盲",
        """
        独居老人助餐：社区独居老人多，希望每天提供助餐和送餐上门
        失能老人探访：失能半失能老人需要定期上门探访和照护指导
        老年人防诈骗：老年人屡遭电信诈骗，需要防诈骗宣传课堂
        高龄老人助浴：高龄老人洗澡困难，需要上门助浴服务
        认知症照护：认知症老人家属需要照护培训和互助支持
        老人学用手机：老人不会用手机挂号、扫码，需要手把手教学
        """,
    ),
    "disability": domain(
        "助残服务",
        "残障人士及其家庭",
        "康复服务中心 助残服务社 融合发展中心 残障家庭支持会",
        "助残志愿队 阳光助残小组",
        "残障儿童康复陪伴 心智障碍者就业支持 无障碍社区微改造 残障家庭喘息服务 "
        "视障人士出行陪伴 听障儿童语言训练 重度残疾人居家托养 辅具租借与适配",
        """
        残障儿童康复：残障儿童家庭需要康复训练陪伴和家长培训
        心智障碍者就业：心智障碍青年希望获得就业培训和岗位支持
        无障碍改造：小区出入口和楼道需要无障碍设施改造
        残障家庭喘息：长期照护残障家人的家庭需要喘息服务
        重度残疾人托养：重度残疾人白天无人照料，需要日间托养
        """,
    ),
    "youth": domain(
        "青少年服务",
        "辖区儿童青少年",
        "青少年成长中心 儿童服务社 家庭教育指导中心 青年志愿者协会",
        "护苗志愿队 亲子成长队",
        "四点半课堂 青少年心理成长营 流动儿童阅读计划 假期安全教育 留守儿童亲情陪伴 "
        "青少年防溺水宣传 困境儿童学业辅导 亲子阅读空间",
        """
        课后托管：双职工家庭孩子放学后无人照看，需要四点半课堂
        青少年心理：中学生学业压力大，需要心理辅导和成长营
        流动儿童阅读：流动儿童缺少课外书，需要阅读推广和陪伴
        暑期安全：暑假溺水和交通安全事故多，需要安全教育
        留守儿童陪伴：留守儿童缺少亲情陪伴，需要定期探访和亲情连线
        """,
    ),
    "community": domain(
        "社区治理",
        "居民",
        "社区发展中心 邻里互助会 社区营造中心 社会工作服务社",
        "楼道自治小组 邻里互助队",
        "楼道自治议事会 社区睦邻节 老旧小区环境共治 志愿者骨干培育 加装电梯议事协商 "
        "社区微更新 新市民融入计划 社区社会组织孵化",
        """
        楼道议事：老旧楼道杂物多，需要居民议事会协商治理
        邻里活动：新建小区邻里陌生，希望举办睦邻节活动
        志愿者培育：社区志愿者流失，需要骨干培育和激励
        议事协商：加装电梯意见分歧大，需要议事协商平台
        新市民融入：外来务工人员多，需要融入社区的活动和服务
        """,
    ),
    "environment": domain(
        "生态环保",
        "居民和中小学生",
        "环保服务中心 绿色生活促进会 生态志愿者协会 自然教育中心",
        "绿色家园志愿队 巡河护绿队",
        "垃圾分类入户指导 河道守护志愿队 社区微花园营造 低碳生活工作坊 旧物循环集市 "
        "自然教育营地 节水护水宣传 厨余堆肥试点",
        """
        垃圾分类：垃圾分类正确率低，需要入户宣传指导
        河道保护：村口河道有垃圾，需要志愿者巡河守护
        社区花园：闲置空地希望改造成居民共建的微花园
        低碳生活：居民希望学习节能减排的低碳生活方式
        旧物回收：闲置旧物多，希望有定期的旧物交换和回收
        """,
    ),
    "poverty": domain(
        "社会救助",
        "困难群众",
        "社会救助服务中心 扶贫济困协会 爱心帮扶社 家庭支持服务中心",
        "帮困志愿队 爱心帮扶小组",
        "困境家庭结对帮扶 农村留守妇女增收 低保家庭就业辅导 临时救助快速响应 困难群众微心愿 "
        "救助对象精神慰藉 困境家庭儿童助学 物质加服务救助",
        """
        困境家庭帮扶：困境家庭需要结对帮扶和物资支持
        留守妇女增收：农村留守妇女希望学习手工技能增加收入
        低保家庭就业：低保家庭成员需要就业辅导和岗位推荐
        临时救助：突发困难家庭需要临时救助快速响应
        救助对象心理疏导：长期困难家庭压力大，需要心理疏导和精神慰藉
        """,
    ),
    "health": domain(
        "健康促进",
        "居民和患者家庭",
        "健康促进会 心理健康服务中心 医务社工服务社 康养服务中心",
        "健康守护队 急救志愿队",
        "慢病患者自我管理小组 社区心理健康驿站 癌症患者家庭支持 母婴健康讲堂 急救技能进社区 "
        "青少年近视防控 精神障碍康复者社区融入 家庭医生签约宣传",
        """
        慢病管理：高血压糖尿病患者多，需要自我管理小组
        心理健康：居民心理困扰多，需要心理咨询和疏导
        急救培训：社区缺少会急救的人，需要心肺复苏培训
        精神康复：精神障碍康复者需要社区康复和就业支持
        """,
    ),
    "culture": domain(
        "文化服务",
        "居民",
        "文化发展中心 社区文艺协会 非遗传承促进会 阅读推广会",
        "社区文艺队 非遗手作社",
        "社区合唱团 非遗手作传承 社区书屋运营 广场舞文明公约 村史馆讲解员培育 家风家训宣讲 "
        "社区电影之夜 传统节日邻里汇",
        """
        社区文艺：居民希望组建文艺队并有固定的排练指导
        非遗传承：本地非遗手艺后继无人，需要进社区教学
        社区阅读：社区书屋利用率低，需要阅读活动运营
        传统节日：居民希望在传统节日举办邻里活动
        """,
    ),
}
COUNTY_DOMAINS = ("elderly", "disability", "youth", "community", "environment", "poverty")
STREET_DOMAINS = ("elderly", "youth", "community", "environment", "culture")
CITY_DOMAINS = (*COUNTY_DOMAINS, "health", "culture")
TOWNSHIPS = (
    "城关镇",
    "东湖街道",
    "西山镇",
    "南桥镇",
    "北苑街道",
    "青石镇",
    "白沙镇",
    "柳河乡",
    "龙泉镇",
    "桃源乡",
    "金港镇",
    "梅林街道",
    "双溪镇",
    "石门乡",
    "凤凰街道",
    "清水镇",
)
"""A county's 16 townships on a 4 x 4 map: each borders the next in its row and column."""
COMMUNITIES = (
    "桂花社区",
    "东湖社区",
    "锦绣社区",
    "幸福里社区",
    "和平社区",
    "翠竹社区",
    "新村社区",
    "滨江社区",
)
"""A street's communities, around a ring: each borders the next."""
DISTRICTS: dict[str, tuple[str, ...]] = {
    "越秀区": ("荔湾区", "海珠区", "天河区", "白云区"),
    "海珠区": ("荔湾区", "天河区", "番禺区", "黄埔区"),
    "荔湾区": ("白云区",),
    "天河区": ("白云区", "黄埔区"),
    "白云区": ("花都区", "从化区", "黄埔区"),
    "黄埔区": ("增城区", "番禺区"),
    "番禺区": ("南沙区",),
    "花都区": ("从化区",),
    "南沙区": (),
    "从化区": ("增城区",),
    "增城区": (),
}
"""A city's districts and the districts each borders (read both ways)."""
PREFIXES = (
    "阳光", "晨曦", "同心", "益路", "暖心", "新芽", "和美", "众善", "乐龄", "启明",
    "善水", "青禾", "春晖", "金秋", "星火", "向日葵", "彩虹", "蒲公英", "心桥", "绿野",
    "书香", "红枫", "安康", "颐和", "邻里", "微光", "携手", "德馨", "致远", "明德",
    "沐阳", "馨语", "仁和", "家和", "康乐", "朝阳", "常青", "博爱", "清源", "悦享",
    "暖阳", "银杏", "海棠", "星辰", "知行", "善德", "睦邻", "益家", "恒爱", "立人",
    "七彩", "同行", "萤火", "木棉", "紫荆", "青松", "鹏程", "融爱", "汇善", "心语",
)  # fmt: skip
SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高",
    "林", "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧",
    "程", "曹", "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾",
    "丁", "魏", "薛", "叶", "余", "潘", "杜", "戴", "夏", "钟", "汪", "田", "任", "姜", "范",
)  # fmt: skip
GIVEN_NAMES = (
    "建国", "立新", "晓燕", "志强", "海燕", "文华", "丽娟", "国庆", "秀英", "明辉",
    "玉兰", "春生", "红梅", "伟东", "静怡", "子涵", "俊杰", "雅琴", "宏伟", "淑芬",
    "振华", "雪梅", "永胜", "慧敏", "光明", "凤英", "德胜", "欣然", "浩然", "佳怡",
)  # fmt: skip
JUDGE_TITLES = (
    "高校教授",
    "社工督导",
    "注册会计师",
    "执业律师",
    "民政干部",
    "基金会秘书长",
    "研究员",
    "社区书记",
    "媒体记者",
    "人大代表",
)
AREAS = (
    "law",
    "finance",
    "fundraising",
    "branding",
    "it",
    "party_building",
    "psychology",
    "project_design",
)
AREA_TITLES = {
    "law": "律师",
    "finance": "会计师",
    "fundraising": "筹款顾问",
    "branding": "品牌策划",
    "it": "信息化工程师",
    "party_building": "党建指导员",
    "psychology": "心理咨询师",
    "project_design": "项目督导",
}
METHODS = (
    "组建志愿者队伍定期入户服务",
    "联合社区居委会每月开展主题活动",
    "引入专业社工开展个案和小组服务",
    "建立需求台账并跟踪回访",
    "以培训与实践相结合的方式培育居民骨干",
    "链接辖区企业和学校资源共同参与",
)
BRANDS = ("暖心", "同行", "微光", "向阳", "共建", "乐享", "守护", "益起来", "邻里守望", "幸福里")
RATINGS = (
    matching_pb2.ORGANIZATION_RATING_1A,
    matching_pb2.ORGANIZATION_RATING_2A,
    matching_pb2.ORGANIZATION_RATING_3A,
    matching_pb2.ORGANIZATION_RATING_4A,
    matching_pb2.ORGANIZATION_RATING_5A,
)
REGISTERED = "registered"
VOLUNTEER_TEAM = "volunteer_team"
ELIGIBLE = "eligible"
