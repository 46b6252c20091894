# ruff: noqa: RUF001 - Chinese questions use full-width punctuation
"""Labelled retrieval questions over examples/knowledge.

Each item: the question, the file (relative to examples/knowledge) holding the answer, and a short string
that a passage must contain to count as a hit (so the labels don't depend on the chunk size).
``paraphrase=True`` marks questions that share no content word with the passage holding the answer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    text: str
    source: str
    answer: str
    paraphrase: bool = False


QUESTIONS: tuple[Question, ...] = (
    # --- English, worded like the documents
    Question("How much does the Day Pass cost?", "en/pricing.md", "Day Pass costs 15 dollars"),
    Question("What is the price per minute for pay as you go riding?", "en/pricing.md", "25 cents per minute"),
    Question("How much is the Explorer plan per month?", "en/pricing.md", "Explorer plan costs 49"),
    Question("Do students get a discount on monthly plans?", "en/pricing.md", "40 percent off"),
    Question("What are the opening hours of the Northgate service centre?", "en/opening-hours.md", "480 Northgate"),
    Question("Is Harborview Central open on Sundays?", "en/opening-hours.md", "Closed on Sundays"),
    Question("What is the support hotline number?", "en/opening-hours.md", "555-0199"),
    Question("How do I cancel my monthly plan?", "en/membership-and-refunds.html", "Cancel plan"),
    Question("How old must riders be?", "en/membership-and-refunds.html", "at least 16 years old"),
    Question("What should I do if the bike does not unlock?", "en/troubleshooting.md", "button under the saddle"),
    Question("How far does a full battery last?", "en/troubleshooting.md", "about 70 kilometres"),
    Question("What is the fee for leaving a bike outside a parking zone?", "en/pricing.md", "relocation fee"),
    Question("Are helmets mandatory?", "en/safety.txt", "Helmets are mandatory"),
    Question("What happens on Christmas Day?", "en/opening-hours.md", "Christmas Day"),
    Question("What do I get for the referral programme?", "en/membership-and-refunds.html", "5 free ride credits"),
    Question("Is there a deposit if I pay with a prepaid card?", "en/pricing.md", "50 dollar deposit"),
    Question("The motor makes a clicking noise, what now?", "en/troubleshooting.md", "clicking noise"),
    # --- English, paraphrased: no content word shared with the answer passage
    Question("My e-bike is stuck and won't let me ride away", "en/troubleshooting.md", "Bluetooth", True),
    Question(
        "Can I get my money back for an interrupted trip?",
        "en/membership-and-refunds.html",
        "refund the whole ride",
        True,
    ),
    Question("Can I bring my toddler along on the back?", "en/safety.txt", "Children may not be carried", True),
    Question("What is the top speed with motor help?", "en/safety.txt", "25 kilometres per hour", True),
    Question("My card was billed two times for one trip", "en/troubleshooting.md", "temporary hold", True),
    Question("When can I phone someone for help?", "en/opening-hours.md", "555-0199", True),
    Question("I got a puncture", "en/troubleshooting.md", "flat tyre", True),
    # --- Chinese
    Question("日卡多少钱？", "zh/pricing.md", "日卡售价15元"),
    Question("北门服务中心几点营业？", "zh/hours.md", "每天上午10点到晚上9点"),
    Question("客服电话是多少？", "zh/hours.md", "555-0199"),
    Question("车辆无法开锁怎么办？", "zh/troubleshooting.md", "长按车座下方"),
    Question("学生有优惠吗？", "zh/pricing.md", "六折优惠"),
    Question("怎么取消月卡？", "zh/faq.txt", "取消套餐"),
    Question("退款多久到账？", "zh/faq.txt", "最长需要7天到账"),
    Question("骑行途中没电了怎么办？", "zh/troubleshooting.md", "免费换电池"),
    Question("春节服务中心开门吗？", "zh/hours.md", "春节"),
    Question("头盔丢了要赔多少钱？", "zh/pricing.md", "头盔丢失需赔偿35元"),
    # --- Chinese, paraphrased
    Question("被扣了两次钱", "zh/troubleshooting.md", "重复扣费", True),
    Question("轮胎被扎破了", "zh/troubleshooting.md", "爆胎", True),
    Question("未成年人能不能骑？", "zh/faq.txt", "年满16周岁", True),
    Question("礼拜天去渡口旁那家店能办事吗？", "zh/hours.md", "周日休息", True),
    Question("最快能开到多少码？", "zh/faq.txt", "时速25公里", True),
    Question("凌晨两点还有人接线吗？", "zh/hours.md", "午夜12点", True),
    Question("过年第一天你们关门吗？", "zh/hours.md", "春节", True),
    Question("出了车祸该找谁？", "en/safety.txt", "emergency number 112", True),
    Question("Which weekday is the harbour-side office shut?", "en/opening-hours.md", "Closed on Sundays", True),
    Question("Do I have to wear something on my head?", "en/safety.txt", "Helmets are mandatory", True),
)

# Questions the knowledge base has nothing on: retrieval should return no passage at all.
OFF_TOPIC: tuple[str, ...] = (
    "What is the capital of France?",
    "Tell me a joke about penguins",
    "今天天气怎么样？",
    "推荐一部好看的电影",
)
