"""What the demo world is made of: answer scripts and the situations callers ring about.

The knowledge-base articles are written for this project, in our own words, after the
situations the two reference articles describe (a city hotline during a lockdown in spring
2022): dialysis and chemotherapy under lockdown, births, rabies shots, fever at home,
medicines, food, and how urgent tickets climb the supervision ladder.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Article:
    title: str
    category: str
    tags: tuple[str, ...]
    body: str
    english: tuple[str, tuple[str, ...], str] | None = None  # title, tags, body (--lang en)

    def in_language(self, lang: str) -> Article:
        """This article as the demo writes it in ``lang``: English when there is a version."""
        if lang != "en" or self.english is None:
            return self
        title, tags, body = self.english
        return Article(title, self.category, tags, body)


ARTICLES: tuple[Article, ...] = (
    Article(
        "封控期间血透患者如何就医",
        "urgent_medical",
        ("血透", "透析", "封控", "紧急求医"),
        "透析一次也不能落下：来电一律按紧急求医类工单（红色）受理。\n"
        "1. 记录患者姓名、身份证号、住址、原透析医院和上一次透析时间。\n"
        "2. 告知来电人：热线将在30分钟内联系属地和卫健部门安排闭环转运。\n"
        "3. 派单至所在区卫健委，承办单位名称写全；如原医院暂停收治，备注可接收的医院。\n"
        "答复口径：您好，透析治疗不能耽误，我们已按紧急工单派发，属地会尽快与您联系安排转运，请保持电话畅通。",
    ),
    Article(
        "肿瘤放化疗患者就医协调",
        "urgent_medical",
        ("肿瘤", "放疗", "化疗", "紧急求医"),
        "两种治疗去处不同：放疗离不开医院里的专用机器，病人得进院；化疗大多是打针输液，"
        "离家近的医院往往也能做。\n"
        "受理时问清：做的是哪一种、进行到第几个疗程、一直在哪家医院治、小区是否封控。\n"
        "放疗：派单卫健委，由原医院安排入院；化疗：先和属地商量，能就近做的就近做。\n"
        "答复口径：您的情况已登记为紧急求医，我们会协调医院和属地，尽量不影响疗程。",
    ),
    Article(
        "孕产妇产检与临产求助",
        "urgent_medical",
        ("孕妇", "产检", "临产", "保胎", "紧急求医"),
        "内部提示：孕产妇求助一律按红色工单处理。\n"
        "临产、腹痛、出血：先提示拨打120，同时受理工单并联系属地城运中心协助出小区。\n"
        "产检：记录孕周、建卡医院、预约时间，派单属地安排就医通行。\n"
        "保胎、引产这类错过时机就来不及的，在备注里写清最晚哪天、几点前要到医院。\n"
        "答复口径：您的情况我们已按紧急求助登记，会马上联系属地协助您去医院，请保持电话畅通。",
    ),
    Article(
        "狂犬疫苗接种时间要求",
        "urgent_medical",
        ("狂犬疫苗", "咬伤", "抓伤", "紧急求医"),
        "被猫狗咬伤、抓伤，疫苗越早打越好：首针最迟不超过24小时，"
        "之后每一针也要按约定的日子打，拖不得。\n"
        "受理时记录被咬伤时间（表单中“咬伤时间”一栏）、伤口部位、已接种针次。\n"
        "派单属地卫健部门，请犬伤门诊或医院安排接种；必要时协调专车接送。\n"
        "答复口径：第一针要在24小时内打，我们已按紧急工单派发，请留意属地来电。",
    ),
    Article(
        "封控小区居民发热怎么办",
        "urgent_medical",
        ("发烧", "发热", "封控", "120"),
        "内部提示：小区封着、家里有人发烧的，社区会派医护人员上门看；"
        "要不要送医由他们判断，确需就医的，由120送到定点医院看发热门诊。\n"
        "高烧、独居老人、有基础病的：按红色工单受理，30分钟内响应。\n"
        "电话里先教来电人用温水擦身等办法降温，问清家里还有没有退烧药；"
        "同时派单属地社区卫生服务中心。\n"
        "答复口径：请先不要自行出门，社区医护人员会上门查看，需要就医的由120送到发热门诊。",
    ),
    Article(
        "互联网医院配药与取药",
        "epidemic",
        ("配药", "买药", "互联网医院", "慢病"),
        "答复口径：您可以通过原就诊医院的互联网医院在线复诊配药，药品可以快递到家，"
        "也可以请社区志愿者代取。\n"
        "内部提示：慢病患者优先引导线上复诊。\n"
        "无法在线操作的老人：记录药品名称、剂量、原就诊医院，派单属地街镇协助代配。\n"
        "急需药品（如胰岛素、抗癫痫药）按紧急工单处理。",
    ),
    Article(
        "封控期间买菜难、保供求助",
        "supplies",
        ("买菜", "保供", "物资", "团购"),
        "内部提示：记录小区名称、户数、缺少的物资种类和已断供天数。\n"
        "派单属地街镇保供专班；独居老人、残障人士优先，备注写明。\n"
        "答复口径：我们已把您小区的情况转给街镇保供专班，他们会统筹安排配送。",
    ),
    Article(
        "就医要出小区：居委证明怎么开、医院怎么认",
        "community",
        ("证明", "居委", "出小区", "就医"),
        "答复口径：看病需要离开小区的，请先找居委会开一张出行证明；到了医院，"
        "凭这张证明加上挂号预约就能就诊。\n"
        "内部提示：居委会无法联系时，记录小区、居委名称和就医时间，派单街镇协调。",
    ),
    Article(
        "紧急工单从受理到提级的四个环节",
        "process",
        ("督办", "提级", "红色工单", "流程"),
        "内部提示：一张紧急工单最多经过四道关口，前一道解决不了才交给下一道：\n"
        "1. 受理：接电话的话务员就是这张工单的第一责任人，登记清楚后一直跟到办结。\n"
        "2. 汇总：紧急工单集中起来，随时推送到各区负责防疫工单的处置群，由区里认领。\n"
        "3. 专人督办：难办的、要几个部门一起办的、承办单位回了话却没办成的，由专人盯住；"
        "承办单位每天下午5点前把进展报给督办组。\n"
        "4. 提级：专人督办后还解决不了的，第二天中午前报到市政府督查室，由市里研判后交办。",
    ),
    Article(
        "证件、缴费、年检到期办不了怎么办",
        "epidemic",
        ("延期", "证件", "缴费", "咨询"),
        "答复口径：证件到期、社保缴费、车辆年检因封控办不了的，多数部门已明确可以顺延，"
        "解封后补办即可。\n"
        "内部提示：能当场解答的当场解答；政策不明确的，记录具体事项，派单主管部门答复。",
    ),
    Article(
        "独居老人求助的处置要点",
        "community",
        ("独居老人", "关爱", "回访"),
        "内部提示：独居老人来电，问清身体状况、是否有人照顾、常用药是否充足。\n"
        "涉及身体不适的按紧急工单处理；生活困难派单街镇，请居委上门查看。\n"
        "办结后安排回访，确认老人情况。\n"
        "答复口径：您的情况我们记下了，会请居委会上门看看您，有任何不舒服请随时打12345或120。",
    ),
    Article(
        "系统故障时的应急登记",
        "process",
        ("应急", "离线", "掉线", "故障"),
        "内部提示：本系统断网时照常受理：工单先保存在本机加密缓存，屏幕右下角显示未同步条数。\n"
        "网络恢复后自动补传，不需要重新录入，也不要改用纸质登记。\n"
        "长时间离线请告知班长；红色工单的30分钟时限从来电时间起算，不因断网延后。",
    ),
)

# Everyday topics (issue 13): what a city hotline hears when there is no emergency. Each one
# has notes for the agent (内部提示, never inserted) and the words for the caller (答复口径).
EVERYDAY_ARTICLES: tuple[Article, ...] = (
    Article(
        "居住证办理与续签",
        "housing",
        ("居住证", "办证", "续签", "积分"),
        "内部提示：问清来电人是首次办理还是续签、居住地所在街镇；"
        "材料不全的情况不要替窗口表态，可派单属地社区事务受理服务中心答复。\n"
        "答复口径：办理居住证请带身份证、租房合同或房产证明，到居住地的社区事务受理服务中心申请；"
        "居住证到期前30天内可以办理续签，也可以在“一网通办”线上办理。",
        english=(
            "Residence permit (居住证): applying and renewing",
            ("residence permit", "居住证", "renewal"),
            (
                "Agent notes: ask whether it is a first application or a renewal, and in which "
                "subdistrict the caller lives; do not promise what the service counter will "
                "accept - dispatch to the local community affairs service centre if in doubt.\n"
                "Caller script: Please bring your ID card and your tenancy contract or property "
                "certificate to the community affairs service centre where you live. You can "
                "renew within 30 days before the permit expires, at the counter or online."
            ),
        ),
    ),
    Article(
        "道路、小区积水",
        "environment",
        ("积水", "暴雨", "排水", "内涝"),
        "内部提示：记录积水的具体位置（路名、门牌或小区楼号）、深度、是否进屋、有无老人被困；"
        "有人员被困或漏电危险的，先提示拨打110或119，再受理工单。"
        "道路积水派单区水务局，小区内积水派单物业和街道。不要承诺抽排完成的时间。\n"
        "答复口径：您反映的积水情况我们已经记录，会马上转给排水部门安排抽排；"
        "积水较深时请不要涉水通行，注意用电安全。",
        english=(
            "Waterlogged roads and estates (积水)",
            ("waterlogging", "积水", "flooding", "drainage"),
            (
                "Agent notes: record the exact place (road and number, or estate and building), "
                "the depth, whether water entered homes and whether anyone is trapped; if someone"
                " is trapped or there is an electrical danger, tell the caller to ring 110 or 119"
                " first. Roads go to the district water authority, estates to the property "
                "manager and subdistrict. Do not promise when pumping will be finished.\n"
                "Caller script: We have recorded the waterlogging you reported and passed it to "
                "the drainage department to pump it away. Please do not wade through deep water "
                "and take care with electricity."
            ),
        ),
    ),
    Article(
        "噪音扰民",
        "environment",
        ("噪音", "噪声", "扰民", "施工", "广场舞"),
        "内部提示：分清噪音来源：夜间施工（22时至次日6时）派单区生态环境局或建管部门；"
        "社会生活噪音（装修、广场舞、商铺外放）派单街道和公安派出所；正在发生的可建议同时拨打110。\n"
        "答复口径：您反映的噪音问题我们已经受理，会转交相关部门到现场核查处理，"
        "处理结果会在规定时间内答复您。",
        english=(
            "Noise nuisance (噪音)",
            ("noise", "噪音", "construction", "night"),
            (
                "Agent notes: find out where the noise comes from: construction at night "
                "(22:00-06:00) goes to the district environment bureau or building authority; "
                "neighbourhood noise (renovation, square dancing, shop loudspeakers) to the "
                "subdistrict and police station; if it is happening now, the caller may also ring"
                " 110.\n"
                "Caller script: We have accepted your report about the noise and will pass it to "
                "the department concerned to check on site. You will hear the outcome within the "
                "set time."
            ),
        ),
    ),
    Article(
        "冬季供暖与暖气不热",
        "utilities",
        ("供暖", "暖气", "不热", "采暖"),
        "内部提示：问清小区名称、楼号、室内温度和不热的时间；集中供暖的派单供热企业，"
        "自装壁挂炉的属于个人设备，引导联系厂家售后。\n"
        "答复口径：您反映的暖气不热问题已登记，供热单位会联系您上门检查；"
        "检查前请确认家中暖气阀门已经打开。",
        english=(
            "Winter heating: radiators not warm (供暖)",
            ("heating", "供暖", "radiator"),
            (
                "Agent notes: ask for the estate, building, indoor temperature and since when; "
                "district heating goes to the heating company, a wall-hung boiler is the owner's "
                "appliance - refer to the maker's service.\n"
                "Caller script: We have recorded that your heating is not warm; the heating "
                "company will contact you to come and check. Before that, please make sure the "
                "radiator valves are open."
            ),
        ),
    ),
    Article(
        "物业服务纠纷",
        "housing",
        ("物业", "物业费", "电梯", "维修", "业委会"),
        "内部提示：电梯困人属于紧急情况，提示拨打电梯上的应急电话或119；"
        "物业收费、维修不及时派单属地房管办事处和街道；不评价物业合同条款的对错。\n"
        "答复口径：您反映的物业问题我们已经记录，会转交房屋管理部门督促物业处理，"
        "处理情况会有人联系您。",
        english=(
            "Property management disputes (物业)",
            ("property management", "物业", "lift", "repairs"),
            (
                "Agent notes: someone trapped in a lift is an emergency - tell the caller to use "
                "the lift's emergency phone or ring 119. Fees and slow repairs go to the housing "
                "office and subdistrict; do not judge the contract terms.\n"
                "Caller script: We have recorded the problem with your property management and "
                "will ask the housing department to press them to deal with it. Someone will "
                "contact you about the outcome."
            ),
        ),
    ),
    Article(
        "社保缴费与查询",
        "social_security",
        ("社保", "养老保险", "医保", "缴费", "转移"),
        "内部提示：个人缴费记录涉及隐私，电话里不代查具体金额；"
        "政策性问题可以当场解答，个人账户问题派单区人社局或医保局。\n"
        "答复口径：社保缴费记录可以在“随申办”或社保官方网站查询，"
        "也可以带身份证到就近的社区事务受理服务中心打印；灵活就业人员可以按月在线缴费。",
        english=(
            "Social security contributions (社保)",
            ("social security", "社保", "pension", "medical insurance"),
            (
                "Agent notes: a person's contribution record is private - do not read out amounts"
                " on the phone. Policy questions can be answered now; account problems go to the "
                "district human resources and social security bureau.\n"
                "Caller script: You can check your social security record in the city's service "
                "app or on the social security website, or print it with your ID card at a "
                "community affairs service centre. Flexible workers can pay monthly online."
            ),
        ),
    ),
    Article(
        "公交线路调整与投诉",
        "transport",
        ("公交", "线路", "站点", "末班车", "司机"),
        "内部提示：线路调整咨询可以当场解答；对司机服务的投诉记录线路、车牌号、时间和上车站，"
        "派单区交通委转公交公司。\n"
        "答复口径：公交线路和站点的调整信息可以在公交公司官方网站或车站公告中查询；"
        "您反映的问题我们已经记录，会转交交通管理部门核实处理。",
        english=(
            "Bus routes and complaints (公交)",
            ("bus", "公交", "route", "driver"),
            (
                "Agent notes: route changes can be answered now; for a complaint about a driver "
                "record the route, plate number, time and stop, and dispatch to the district "
                "transport commission for the bus company.\n"
                "Caller script: Route and stop changes are published on the bus company's website"
                " and at the stops. We have recorded your report and will pass it to the "
                "transport department to look into it."
            ),
        ),
    ),
    Article(
        "停水停电",
        "utilities",
        ("停水", "停电", "断水", "断电", "抢修"),
        "内部提示：先问是整栋楼、整个小区还是只有自己家；只有一户的多为户内问题，"
        "建议联系物业或找电工。计划停水停电查看公告后当场答复；突发的派单供水或供电企业。"
        "家中有依靠电力的医疗设备（制氧机等）的，按紧急工单受理。\n"
        "答复口径：您反映的停水停电情况我们已经转给供水供电单位抢修，恢复时间以他们的通知为准，"
        "期间请关好家中水龙头和电器开关。",
        english=(
            "Water or power cut (停水停电)",
            ("water cut", "power cut", "停水", "停电", "outage"),
            (
                "Agent notes: ask whether the whole building or estate is affected or only the "
                "caller's home (then it is usually inside the home: property manager or an "
                "electrician). Planned cuts: answer from the notice; sudden ones go to the water "
                "or power company. Someone at home relying on powered medical equipment (oxygen) "
                "is an urgent ticket.\n"
                "Caller script: We have passed the cut you reported to the water or power company"
                " for repair; please follow their notice for when supply returns, and keep taps "
                "and appliances switched off meanwhile."
            ),
        ),
    ),
    Article(
        "拖欠工资",
        "social_security",
        ("拖欠工资", "欠薪", "工资", "农民工", "劳动仲裁"),
        "内部提示：记录单位名称和地址、欠薪时间和金额、涉及人数；人数多或有过激苗头的，"
        "备注写明并告知班长。派单区人社局劳动保障监察大队。\n"
        "答复口径：您反映的欠薪问题我们已经受理，会转交劳动保障监察部门调查处理；"
        "请保留好劳动合同、考勤和工资条等证据，也可以申请劳动仲裁。",
        english=(
            "Unpaid wages (拖欠工资)",
            ("unpaid wages", "拖欠工资", "wages", "arbitration"),
            (
                "Agent notes: record the employer's name and address, since when and how much is "
                "owed, and how many people; if many people are involved or tempers run high, say "
                "so in the ticket and tell the shift lead. Dispatch to the district labour "
                "inspection team.\n"
                "Caller script: We have accepted your report about unpaid wages and will pass it "
                "to the labour inspection department. Please keep your contract, attendance "
                "records and pay slips; you can also apply for labour arbitration."
            ),
        ),
    ),
    Article(
        "违章建筑举报",
        "housing",
        ("违章建筑", "违建", "搭建", "拆违"),
        "内部提示：记录违建的具体位置、搭建的时间和面积，是否还在施工；"
        "派单属地街镇城管中队。来电人要求保密的，在备注中写明，不向被反映人透露来电人信息。\n"
        "答复口径：您反映的违章搭建问题我们已经受理，会转交城管执法部门到现场核查，"
        "核查和处理结果会答复您。",
        english=(
            "Reporting an illegal structure (违章建筑)",
            ("illegal structure", "违章建筑", "违建"),
            (
                "Agent notes: record where the structure is, when it was built, its size and "
                "whether work is still going on; dispatch to the subdistrict's city management "
                "team. If the caller asks for confidentiality, say so in the ticket and never "
                "tell the party reported who called.\n"
                "Caller script: We have accepted your report about the illegal structure and will"
                " pass it to city management to check on site; you will be told the outcome."
            ),
        ),
    ),
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷"
)
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "建国",
    "玉兰",
    "海燕",
    "志强",
    "晓东",
    "慧",
)
ROADS = (
    "苗圃路",
    "康弘路",
    "华泾路",
    "南丹路",
    "长寿路",
    "四平路",
    "虹梅路",
    "锦绣路",
    "江场路",
    "曹杨路",
    "漕溪北路",
    "龙吴路",
    "沪太路",
    "莲花路",
    "金沙江路",
    "控江路",
    "灵石路",
    "松江路",
)
COMMUNITIES = ("南宜花苑", "康桥半岛", "华阳新村", "曹杨一村", "锦绣华城", "阳光苑", "新泾家园")
HANDLING_UNITS = ("区卫健委", "街道办事处", "区城运中心", "区市场监管局", "区民政局", "居委会")

# (kind, category, urgency, urgent_subcategory, account, answer): what people ring about.
SITUATIONS: tuple[tuple[str, str, str, str | None, str, str | None], ...] = (
    (
        "help",
        "urgent_medical",
        "red",
        "dialysis",
        "父亲尿毒症需规律透析，楼栋封控后已错过两次，平时去的医院说暂时排不上，请求协调。",
        None,
    ),
    (
        "help",
        "urgent_medical",
        "red",
        "cancer_therapy",
        "母亲肿瘤化疗疗程到期，所在小区封控无法出门，请求安排就近医院化疗。",
        None,
    ),
    (
        "help",
        "urgent_medical",
        "red",
        "maternity",
        "儿媳孕37周，医院通知后天上午复查胎心，小区仍在封控，不知道怎么出门，请求协助。",
        None,
    ),
    (
        "help",
        "urgent_medical",
        "red",
        "rabies_vaccine",
        "孩子被家里的猫抓伤，需要接种狂犬疫苗第一针，请求安排就近门诊。",
        None,
    ),
    (
        "help",
        "urgent_medical",
        "red",
        "fever",
        "楼下独居的老人体温38.8度，退烧药已经吃完，打居委电话一直占线，请求帮忙。",
        None,
    ),
    (
        "help",
        "urgent_medical",
        "red",
        "other_medical",
        "患者需定期注射胰岛素，药品即将用完，请求协助配药。",
        None,
    ),
    (
        "consultation",
        "epidemic",
        "normal",
        None,
        "咨询居民楼解封后能否去外区就医。",
        "根据现行规定，凭就医预约信息和居委证明可以前往就医。",
    ),
    (
        "consultation",
        "epidemic",
        "normal",
        None,
        "咨询身份证到期无法办理换证怎么办。",
        "证件到期的业务可顺延，解封后办理即可。",
    ),
    (
        "consultation",
        "epidemic",
        "normal",
        None,
        "咨询互联网医院如何在线复诊配药。",
        "可通过就诊医院的互联网医院在线复诊，药品可快递到家。",
    ),
    (
        "help",
        "supplies",
        "normal",
        None,
        "小区封控第6天，团购物资迟迟未到，老人家中缺少蔬菜。",
        None,
    ),
    ("complaint", "community", "normal", None, "反映小区核酸检测点排队时间过长、秩序混乱。", None),
    ("complaint", "market", "normal", None, "反映附近超市蔬菜价格明显上涨。", None),
    ("suggestion", "community", "normal", None, "建议居委会为独居老人建立每日联系名单。", None),
    (
        "praise",
        "community",
        "normal",
        None,
        "感谢居委会志愿者连夜为家中老人送药。",
        "感谢您的认可，我们会转达给居委会。",
    ),
    (
        "consultation",
        "transport",
        "normal",
        None,
        "咨询近期出租车是否可以送病人去医院。",
        "就医可拨打出租车电召或联系居委安排车辆。",
    ),
)
