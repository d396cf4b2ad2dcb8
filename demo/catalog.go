package demo

import "daiban/service"

// The 42 errand types of the Changle mechanism in its six categories, with
// the materials, statutory fees and promised working days of such offices.
var catalog = []service.ItemInput{
	{Code: "JS01", Name: "生育服务证明", Category: "jisheng", Level: service.LevelTownship, TimeLimitDays: 3, Materials: []string{"夫妻双方身份证", "户口簿", "结婚证"}},
	{Code: "JS02", Name: "再生育审批", Category: "jisheng", Level: service.LevelCity, TimeLimitDays: 20, Materials: []string{"再生育申请表", "夫妻双方身份证", "户口簿", "结婚证", "现有子女出生医学证明"}},
	{Code: "JS03", Name: "独生子女父母光荣证", Category: "jisheng", Level: service.LevelTownship, TimeLimitDays: 10, Materials: []string{"夫妻双方身份证", "户口簿", "结婚证", "子女出生医学证明"}},
	{Code: "JS04", Name: "计划生育家庭奖励扶助申请", Category: "jisheng", Level: service.LevelCity, TimeLimitDays: 20, Materials: []string{"奖励扶助申请表", "身份证", "户口簿", "子女情况证明"}},
	{Code: "JS05", Name: "流动人口婚育证明", Category: "jisheng", Level: service.LevelTownship, TimeLimitDays: 3, Materials: []string{"身份证", "户口簿", "近期免冠照片"}},
	{Code: "JS06", Name: "病残儿医学鉴定申请", Category: "jisheng", Level: service.LevelCity, TimeLimitDays: 30, Materials: []string{"鉴定申请表", "病历资料", "身份证", "户口簿"}},
	{Code: "JS07", Name: "计划生育特别扶助申请", Category: "jisheng", Level: service.LevelCity, TimeLimitDays: 20, Materials: []string{"特别扶助申请表", "身份证", "户口簿", "子女死亡或伤残证明"}},

	{Code: "GT01", Name: "农村村民建房审批", Category: "guotu", Level: service.LevelCity, TimeLimitDays: 20, Materials: []string{"建房申请表", "身份证", "户口簿", "宅基地位置图", "村民会议决议"}},
	{Code: "GT02", Name: "宅基地不动产登记", Category: "guotu", Level: service.LevelCity, TimeLimitDays: 15, FeeCents: 8000, Materials: []string{"不动产登记申请书", "身份证", "户口簿", "权属来源证明", "宗地图"}},
	{Code: "GT03", Name: "土地承包经营权流转备案", Category: "guotu", Level: service.LevelTownship, TimeLimitDays: 5, Materials: []string{"流转合同", "身份证", "土地承包合同"}},
	{Code: "GT04", Name: "临时用地审批", Category: "guotu", Level: service.LevelCity, TimeLimitDays: 20, Materials: []string{"临时用地申请书", "用地位置图", "土地复垦方案", "身份证"}},
	{Code: "GT05", Name: "土地权属争议调处申请", Category: "guotu", Level: service.LevelTownship, TimeLimitDays: 30, Materials: []string{"调处申请书", "身份证", "权属证明材料"}},
	{Code: "GT06", Name: "设施农用地备案", Category: "guotu", Level: service.LevelTownship, TimeLimitDays: 10, Materials: []string{"备案申请表", "用地协议", "用地位置图"}},
	{Code: "GT07", Name: "宅基地使用证补办", Category: "guotu", Level: service.LevelCity, TimeLimitDays: 15, Materials: []string{"补办申请书", "身份证", "户口簿", "遗失声明"}},

	{Code: "LY01", Name: "林木采伐许可证", Category: "linye", Level: service.LevelCity, TimeLimitDays: 10, Materials: []string{"林木采伐申请表", "林权证", "身份证", "伐区调查设计书"}},
	{Code: "LY02", Name: "木材运输证", Category: "linye", Level: service.LevelCity, TimeLimitDays: 3, Materials: []string{"运输申请表", "林木采伐许可证", "身份证"}},
	{Code: "LY03", Name: "林权变更登记", Category: "linye", Level: service.LevelCity, TimeLimitDays: 20, Materials: []string{"变更登记申请书", "林权证", "身份证", "林权转让合同"}},
	{Code: "LY04", Name: "生态公益林补偿金申领", Category: "linye", Level: service.LevelTownship, TimeLimitDays: 10, Materials: []string{"补偿金申领表", "身份证", "银行卡", "林权证"}},
	{Code: "LY05", Name: "野外用火审批", Category: "linye", Level: service.LevelTownship, TimeLimitDays: 3, Materials: []string{"用火申请表", "身份证"}},
	{Code: "LY06", Name: "林下经济项目扶持申请", Category: "linye", Level: service.LevelCity, TimeLimitDays: 20, Materials: []string{"扶持申请表", "身份证", "项目实施方案"}},
	{Code: "LY07", Name: "采集国家保护野生植物审批", Category: "linye", Level: service.LevelCity, TimeLimitDays: 20, Materials: []string{"采集申请表", "身份证", "采集方案"}},

	{Code: "SF01", Name: "无犯罪记录证明", Category: "sifa", Level: service.LevelCity, TimeLimitDays: 5, Materials: []string{"开具申请表", "身份证", "户口簿"}},
	{Code: "SF02", Name: "法律援助申请", Category: "sifa", Level: service.LevelCity, TimeLimitDays: 7, Materials: []string{"法律援助申请表", "身份证", "经济困难证明", "案件相关材料"}},
	{Code: "SF03", Name: "人民调解申请", Category: "sifa", Level: service.LevelTownship, TimeLimitDays: 30, Materials: []string{"调解申请书", "身份证", "相关证据材料"}},
	{Code: "SF04", Name: "亲属关系公证", Category: "sifa", Level: service.LevelCity, TimeLimitDays: 15, FeeCents: 8000, Materials: []string{"公证申请表", "身份证", "户口簿", "亲属关系证明"}},
	{Code: "SF05", Name: "社区矫正对象外出请假", Category: "sifa", Level: service.LevelTownship, TimeLimitDays: 3, Materials: []string{"外出请假申请", "身份证", "外出事由证明"}},
	{Code: "SF06", Name: "安置帮教对象帮扶申请", Category: "sifa", Level: service.LevelTownship, TimeLimitDays: 10, Materials: []string{"帮扶申请表", "身份证", "释放证明书"}},
	{Code: "SF07", Name: "司法鉴定援助申请", Category: "sifa", Level: service.LevelCity, TimeLimitDays: 15, Materials: []string{"援助申请表", "身份证", "鉴定事项材料"}},

	{Code: "SH01", Name: "新农合参保登记", Category: "shehui", Level: service.LevelTownship, TimeLimitDays: 5, Materials: []string{"参保登记表", "身份证", "户口簿"}},
	{Code: "SH02", Name: "城乡居民养老保险参保登记", Category: "shehui", Level: service.LevelTownship, TimeLimitDays: 5, Materials: []string{"参保登记表", "身份证", "户口簿"}},
	{Code: "SH03", Name: "最低生活保障申请", Category: "shehui", Level: service.LevelCity, TimeLimitDays: 30, Materials: []string{"低保申请书", "身份证", "户口簿", "家庭收入证明"}},
	{Code: "SH04", Name: "残疾人证申领", Category: "shehui", Level: service.LevelCity, TimeLimitDays: 20, Materials: []string{"申领表", "身份证", "户口簿", "近期免冠照片", "医院诊断证明"}},
	{Code: "SH05", Name: "高龄老人补贴申请", Category: "shehui", Level: service.LevelTownship, TimeLimitDays: 10, Materials: []string{"补贴申请表", "身份证", "户口簿", "银行卡"}},
	{Code: "SH06", Name: "捕捞许可证", Category: "shehui", Level: service.LevelCity, TimeLimitDays: 20, Materials: []string{"捕捞许可申请表", "身份证", "渔船检验证书", "渔船登记证书"}},
	{Code: "SH07", Name: "渔船燃油补贴", Category: "shehui", Level: service.LevelCity, TimeLimitDays: 20, Materials: []string{"补贴申领表", "身份证", "捕捞许可证", "渔船检验证书"}},
	{Code: "SH08", Name: "医疗救助申请", Category: "shehui", Level: service.LevelCity, TimeLimitDays: 20, Materials: []string{"救助申请表", "身份证", "户口簿", "医疗费用票据"}},

	{Code: "DY01", Name: "党组织关系转接", Category: "dangyuan", Level: service.LevelTownship, TimeLimitDays: 5, Materials: []string{"组织关系介绍信", "身份证"}},
	{Code: "DY02", Name: "流动党员活动证办理", Category: "dangyuan", Level: service.LevelTownship, TimeLimitDays: 5, Materials: []string{"办理申请表", "身份证", "近期免冠照片"}},
	{Code: "DY03", Name: "党费代缴", Category: "dangyuan", Level: service.LevelTownship, TimeLimitDays: 3, Materials: []string{"党费证明", "党费"}},
	{Code: "DY04", Name: "困难党员帮扶申请", Category: "dangyuan", Level: service.LevelTownship, TimeLimitDays: 10, Materials: []string{"帮扶申请表", "身份证", "困难情况证明"}},
	{Code: "DY05", Name: "入党积极分子材料报送", Category: "dangyuan", Level: service.LevelTownship, TimeLimitDays: 10, Materials: []string{"入党申请书", "思想汇报", "身份证"}},
	{Code: "DY06", Name: "老党员生活补贴申领", Category: "dangyuan", Level: service.LevelCity, TimeLimitDays: 20, Materials: []string{"补贴申领表", "身份证", "党龄证明", "银行卡"}},
}

// The townships and streets of Changle (长乐): 4 streets, 12 towns, 2
// townships, with the number of villages and communities each holds (255).
var townships = []struct {
	name        string
	villages    int
	communities int
}{
	{"吴航街道", 4, 12}, {"航城街道", 10, 8}, {"营前街道", 8, 5}, {"漳港街道", 14, 1},
	{"首占镇", 17, 0}, {"玉田镇", 19, 0}, {"松下镇", 14, 0}, {"江田镇", 16, 0},
	{"古槐镇", 17, 0}, {"文武砂镇", 12, 0}, {"鹤上镇", 16, 1}, {"湖南镇", 14, 0},
	{"金峰镇", 20, 1}, {"文岭镇", 11, 0}, {"梅花镇", 9, 1}, {"潭头镇", 15, 0},
	{"罗联乡", 6, 0}, {"猴屿乡", 4, 0},
}
