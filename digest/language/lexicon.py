"""Validation words of each language: what meta-talk and short fields look like, and the rules a re-ask quotes.

Data only; digest/validate.py is the one matcher. Patterns are regular expressions matched
case-insensitively. Filler is talk about the answer or the assistant instead of the paper, so it is
recognised by its grammar (an acknowledgement, the assistant's role plus "I", an announcement of what
follows, addressing the reader), never by a lone word: "作为一个即插即用模块" or "在无法访问真值深度的条件下"
are content. "当然，" / "Of course," alone stays content (a concession inside an argument); followed by
the assistant announcing itself it is filler.
"""

from __future__ import annotations

_ZH_SAY = "分析|解读|解析|总结|概述|介绍|评估|阐述|回答|摘要|梳理|说明|提供|重点|关注|聚焦"
_EN_SAY = (
    r"analy[sz]|summar|review|break (?:it )?down|walk (?:you )?through|explain|provide|present|go through|"
    r"assess|evaluate|outline|overview"
)

LEXICON: dict[str, dict[str, object]] = {
    "zh": {
        # At the opening of a value, or of any of its sentences (after Markdown markers).
        "filler_opening": (
            r"(好的|好滴|好嘞|好|嗯|行|收到|明白了?|没问题|可以的?|当然可以|非常乐意|很高兴|您好|你好)\s*[，,。.!！~～：:]",
            r"当然(可以)?\s*[。.!！~～]|当然可以$|非常乐意|很高兴(为您|为你|能)",
            r"当然(可以)?\s*[，,]\s*(我|以下|下面|这是)",
            r"作为[^，,。！？\n]{0,40}?(专家|研究员|研究者|助理|助手|研究生|学者|审稿人|顾问|工程师|AI|人工智能|语言模型)"
            r"\s*[，,]\s*(我|让我|以下|下面)",
            rf"((下面|接下来|现在|首先|那么)\s*[，,]?\s*)?(让)?我(将|会|来|要|先|对|根据|以|这就)[^。！？\n]{{0,60}}?({_ZH_SAY})",
            r"(下面|接下来|现在)\s*[，,]?\s*(让)?我(?!们)",
            r"让我们?来?(看|分析|深入|逐一|一起)",
            rf"(以下|下面)(是|为)(我|对|关于|针对|为您)[^。！？\n]{{0,80}}?的?[^。！？\n]{{0,20}}?({_ZH_SAY}|评价|报告)",
            rf"这是我(对|的)[^。！？\n]{{0,60}}?({_ZH_SAY})",
            rf"这里(是|为)(我|为您)?对?(该|这篇|本|此)(论文|文章|工作)的?[^。！？\n]{{0,20}}?({_ZH_SAY})",
            rf"这是(一篇|一份|一个)?(对|关于|针对)[^。！？\n]{{0,120}}?(论文|文章|“|\")[^。！？\n]{{0,200}}?({_ZH_SAY})",
        ),
        # Anywhere in a value: the answer addresses its reader ("您") or talks about being an AI.
        "filler_anywhere": (
            r"为您|给您|帮助您|帮您|根据您|您提供|您给出|您希望|您所|您的|请您|希望(这|以上|上述)[^。！？\n]{0,20}(对你|对您|能帮助|有所帮助)",
            r"作为(一个|一名)?(AI|人工智能|大型?语言模型)(助手|模型)?\s*[，,]?\s*我",
            # Offering more help or asking the reader back: "如有其他问题，欢迎继续提问" / "需要我进一步解释…吗".
            r"如果您|如您|如有(其他|任何|进一步的?)(问题|疑问|需要|需求)|欢迎(继续|随时)?(提问|追问|交流)|"
            r"请(随时)?告诉我|需要我(进一步|再|继续)|我可以(再|继续|进一步)(展开|解释|分析)",
            # What the answer itself is based on ("以下分析基于摘要"): about the answer, not the paper.
            r"(以下|下面|本|此)(次)?的?(分析|解读|总结|解析|评述|概述|回答|回复)[^。！？\n]{0,6}?(仅|只)?(基于|根据|依据)"
            r"[^。！？\n]{0,6}?摘要",
        ),
        # Anywhere: asks for material, or declares the paper cannot be read (first person or imperative).
        "refusal": (
            r"请(您)?(先)?(提供|上传|发送|给出|粘贴|分享|附上)[^。！？\n]{0,30}?(论文|全文|内容|PDF|文件|原文|章节|链接)",
            r"我(目前|暂时|现在)?(无法|不能|没法|没有办法|未能)(直接)?(访问|获取|阅读|查看|打开|下载|浏览|读取)",
            r"^(很|非常)?(抱歉|对不起|不好意思)(\s*[，,。.!！]|我|地)",
            r"(没有|未|尚未)(收到|看到)[^。！？\n]{0,10}?(论文|全文|PDF|文件)",
            r"请(您)?(先)?(把|将)[^。！？\n]{0,20}?(论文|全文|内容|PDF|文件|原文|摘要)[^。！？\n]{0,10}?"
            r"(发|传|贴|给我|提供|上传|分享)",
            r"我(需要|得|必须)(先)?[^。！？\n]{0,10}?(全文|原文|PDF|论文内容|论文的内容)",
            # "由于无法访问全文，…": the paper's full text itself as the object, then the clause ends. "无法访问真值
            # 深度" or "不能阅读 PDF 文件中的图表" describe a method and stay content.
            r"(无法|不能|未能|没能|没有办法)(直接)?(访问|获取|阅读|查看|读取|打开)到?\s*(该|本|这篇)?(论文)?的?"
            r"(全文|原文|PDF)(内容)?\s*(?=[，,。；;、!！)）]|$)",
        ),
        "field_max": 20,  # Chinese-character widths; a Latin letter counts half
        "field_punct": "。，！？：；,!?;:",
        "rules": {
            "refusal": "直接分析所给的论文，不要索要材料，也不要声称无法阅读论文。",
            "filler": "直接陈述论文内容，不要寒暄、自我介绍、称呼读者或预告下文。",
            "not_json": "只输出一个 JSON 对象，不要附加任何其他文字。",
            "schema": "JSON 必须包含要求的全部字段，且每个字段的类型正确。",
            "language": "除专有名词外，所有字段都必须用中文书写。",
            "truncated": "回答被截断了，请更简洁地输出完整的 JSON。",
            "empty": "该字段不能为空，请根据论文内容填写。",
            "field": "field 只写一个简短的研究领域名称（不超过 20 个字），不要写成句子，也不要带标点。",
            "name": "数据集名称只写名称本身，不要写成句子。",
            "figure": "只使用论文摘要中出现过的数字；摘要里没有的数字请删除或改为摘要中的原始数字。",
            "ids": "只使用列表中给出的论文编号，每个编号恰好出现一次。",
            "secret": "回答中不得包含 API 密钥或任何凭据，只写关于论文的内容。",
        },
    },
    "en": {
        "filler_opening": (
            r"(sure|okay|ok|alright|all right|no problem|hello|hi|great question|good question|happy to help|"
            r"glad to help|certainly|absolutely|of course|understood|got it)\s*[!.]",
            r"(sure|okay|ok|alright|all right|no problem|hello|hi|great question|good question|happy to help|"
            r"glad to help|understood|got it)\b\s*[,:]",
            r"(certainly|absolutely|of course)\s*[,:]?\s*(i|i'll|i will|here|below|let me|let's)\b",
            r"as (a|an|the|your) [^,.!?\n]{0,60}?\b(expert|researcher|assistant|student|scientist|reviewer|ai|"
            r"language model|specialist|engineer|analyst)\b[^,.!?\n]{0,20},\s*(i|i'll|i've|i'd|i'm|let me|here|my)\b",
            rf"((now|next|below|first)\s*,?\s*)?(i will|i'll|i am going to|i'm going to|let me|let's|i have|i've|i would|i'd)"
            rf"\b[^.!?\n]{{0,60}}?\b({_EN_SAY})",
            rf"(here|below) (is|are) (my|an?|the|your) [^.!?\n]{{0,60}}?\b({_EN_SAY}|response|answer|breakdown|interpretation)",
            r"here's\b",
            r"thank(s| you) (for|so much)\b|(below|here),? you('ll| will| can) find\b",
            r"as (requested|you asked|per your request),? (here|below|i|this)\b",
            r"in this (response|answer|reply|analysis|summary),? (i|we will|we'll|let)\b",
            rf"this is (a|an|my|the) [^.!?\n]{{0,40}}?\b({_EN_SAY})[^.!?\n]{{0,20}}?\b(of|for) (the|this) (paper|article)",
        ),
        "filler_anywhere": (
            r"\b(you provided|you've provided|you have provided|you shared|you've shared|you'd like|you would like|"
            r"you want me|for you\b|i hope this (helps|summary|analysis))",
            r"\bas an ai\b|\bas a (large )?language model\b",
            r"\blet me know\b|\bfeel free to (ask|reach out)\b",
            r"\b(the following|this|my) (analysis|summary|interpretation|review|assessment|overview)\b[^.!?\n]{0,20}?"
            r"\b(is|was) (based|drawn|derived)\b[^.!?\n]{0,20}?\babstract\b",
        ),
        "refusal": (
            r"\b(please|kindly|could you|can you|would you)\b[^.!?\n]{0,40}?\b(provide|upload|send|share|paste|attach|"
            r"supply)\b[^.!?\n]{0,40}?\b(paper|pdf|full text|text|content|abstract|document|file|article|section)",
            r"\bi( cannot| can't| can not| am unable to|'m unable to| am not able to|'m not able to| do not have|"
            r" don't have| have no| could not| couldn't)\b[^.!?\n]{0,20}?\b(access|read|open|view|see|retrieve|browse|download|the paper|"
            r"the pdf|the full text)",
            r"^(i'm sorry|i am sorry|sorry|i apologi[sz]e)(\s*[,.!:]|\s+(but|i|that)\b)|^unfortunately,? i\b",
            r"\bwithout access to the (paper's |original )?(full text|full paper|pdf|paper)\b",
        ),
        "field_max": 20,  # Chinese-character widths; a Latin letter counts half
        "field_punct": "。，！？：；!?;:",
        "rules": {
            "refusal": "Analyse the paper you were given; do not ask for material or say that you cannot read it.",
            "filler": "State the paper's content directly: no greeting, no role, no addressing the reader, "
            "no announcing what follows.",
            "not_json": "Send one JSON object and nothing else.",
            "schema": "The JSON must have every required field, each of the right type.",
            "language": "Write every field in English, apart from proper names.",
            "truncated": "The answer was cut off; send the complete JSON more concisely.",
            "empty": "This field must not be empty; fill it from the paper.",
            "field": "`field` is a short research-area name (at most about 40 letters), not a sentence, "
            "with no sentence punctuation.",
            "name": "A dataset name is the name only, not a sentence.",
            "figure": "Use only figures that appear in the paper's abstract; remove the others or replace them "
            "with the abstract's own figures.",
            "ids": "Use only the paper ids given in the list, each exactly once.",
            "secret": "Never repeat the API key or any credential; write about the paper only.",
        },
    },
}
