//! The words of the pages in Chinese (the default) and English.

/// The language of a page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// 简体中文, the default.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language a `lang` query parameter asks for (`en`, `zh`); Chinese otherwise.
    pub fn from_param(value: Option<&str>) -> Self {
        match value.map(str::to_ascii_lowercase).as_deref() {
            Some("en") | Some("en-us") | Some("en-gb") => Self::En,
            _ => Self::Zh,
        }
    }

    /// Its BCP 47 tag, for `<html lang>` and links.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }

    /// The other language (the switch on every page).
    pub fn other(self) -> Self {
        match self {
            Self::Zh => Self::En,
            Self::En => Self::Zh,
        }
    }

    /// The Chinese or the English of one phrase (the console's words are written in place).
    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }

    pub(crate) fn text(self) -> &'static Text {
        match self {
            Self::Zh => &ZH,
            Self::En => &EN,
        }
    }
}

/// Every string a page shows.
pub(crate) struct Text {
    pub switch: &'static str,
    pub node: &'static str,
    pub intro: &'static str,
    pub prefix: &'static str,
    pub search: &'static str,
    pub search_hint: &'static str,
    pub resolve: &'static str,
    pub apis: &'static str,
    pub api_rest: &'static str,
    pub api_manage: &'static str,
    pub api_epcis: &'static str,
    pub api_handle: &'static str,
    pub api_dns: &'static str,
    pub values_of: &'static str,
    pub index: &'static str,
    pub kind: &'static str,
    pub data: &'static str,
    pub timestamp: &'static str,
    pub ttl: &'static str,
    pub restricted: &'static str,
    pub as_json: &'static str,
    pub qr: &'static str,
    pub qr_png: &'static str,
    pub not_found: &'static str,
    pub home: &'static str,
}

const ZH: Text = Text {
    switch: "English",
    node: "工业互联网标识解析二级节点",
    intro: "本节点为企业分配标识前缀、注册标识，并通过 HTTP（Handle.Net REST）、Handle 协议（TCP/UDP）和 DNS 解析标识；同时提供 GS1 EPCIS 2.0 追溯查询。",
    prefix: "节点前缀",
    search: "标识解析",
    search_hint: "输入标识，例如",
    resolve: "解析",
    apis: "接口与文档",
    api_rest: "Handle.Net REST 解析接口",
    api_manage: "管理接口（OpenAPI 文档）",
    api_epcis: "EPCIS 2.0 追溯接口",
    api_handle: "Handle 协议（TCP/UDP 2641 端口）",
    api_dns: "DNS 解析",
    values_of: "标识的公开值",
    index: "索引",
    kind: "类型",
    data: "数据",
    timestamp: "时间戳",
    ttl: "生存时间（秒）",
    restricted: "部分值仅对管理员可见。",
    as_json: "JSON 格式",
    qr: "解析地址二维码",
    qr_png: "下载 PNG",
    not_found: "未找到该标识",
    home: "首页",
};

const EN: Text = Text {
    switch: "中文",
    node: "Industrial internet identifier resolution secondary node",
    intro: "This node allocates identifier prefixes to enterprises, registers identifiers, and resolves them over HTTP (Handle.Net REST), the Handle protocol (TCP/UDP) and DNS; it also answers GS1 EPCIS 2.0 traceability queries.",
    prefix: "Node prefix",
    search: "Resolve an identifier",
    search_hint: "Enter an identifier, e.g.",
    resolve: "Resolve",
    apis: "Interfaces and documentation",
    api_rest: "Handle.Net REST resolution",
    api_manage: "Management API (OpenAPI document)",
    api_epcis: "EPCIS 2.0 traceability",
    api_handle: "Handle protocol (TCP/UDP port 2641)",
    api_dns: "DNS resolution",
    values_of: "Public values of",
    index: "Index",
    kind: "Type",
    data: "Data",
    timestamp: "Timestamp",
    ttl: "TTL (s)",
    restricted: "Some values are visible to administrators only.",
    as_json: "As JSON",
    qr: "QR code of the resolution URL",
    qr_png: "Download PNG",
    not_found: "Identifier not found",
    home: "Home",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_unless_english_is_asked_for() {
        assert_eq!(Lang::from_param(None), Lang::Zh);
        assert_eq!(Lang::from_param(Some("fr")), Lang::Zh);
        assert_eq!(Lang::from_param(Some("EN")), Lang::En);
        assert_eq!(Lang::En.other(), Lang::Zh);
    }
}
