//! `/api/v1/data` parameters (B.3): names, aliases, defaults and the lenient number
//! parsing Netdata uses (a leading integer; anything else reads as 0).

use crate::web::url::Query;

/// Query options (`options=`), a bit set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options(pub u32);

impl Options {
    pub const NONZERO: u32 = 1 << 0;
    pub const REVERSED: u32 = 1 << 1;
    pub const JSON_WRAP: u32 = 1 << 2;
    pub const MIN2MAX: u32 = 1 << 3;
    pub const MILLISECONDS: u32 = 1 << 4;
    pub const ABSOLUTE: u32 = 1 << 5;
    pub const DISPLAY_ABSOLUTE: u32 = 1 << 6;
    pub const SECONDS: u32 = 1 << 7;
    pub const NULL2ZERO: u32 = 1 << 8;
    pub const OBJECTROWS: u32 = 1 << 9;
    pub const GOOGLE_JSON: u32 = 1 << 10;
    pub const PERCENTAGE: u32 = 1 << 11;
    pub const NOT_ALIGNED: u32 = 1 << 12;
    pub const MATCH_IDS: u32 = 1 << 13;
    pub const MATCH_NAMES: u32 = 1 << 14;
    pub const CUSTOM_VARS: u32 = 1 << 15;
    pub const ALLOW_PAST: u32 = 1 << 16;
    /// Internal: quote the csv header labels (csvjsonarray).
    pub const LABEL_QUOTES: u32 = 1 << 17;

    pub fn has(self, flag: u32) -> bool {
        self.0 & flag != 0
    }

    pub fn with(self, flag: u32) -> Self {
        Options(self.0 | flag)
    }

    /// The flag of one option word, if known.
    pub fn flag_of(word: &str) -> Option<u32> {
        Some(match word {
            "nonzero" => Self::NONZERO,
            "flip" | "reversed" | "reverse" => Self::REVERSED,
            "jsonwrap" => Self::JSON_WRAP,
            "min2max" => Self::MIN2MAX,
            "ms" | "milliseconds" => Self::MILLISECONDS,
            "abs" | "absolute" | "absolute_sum" | "absolute-sum" => Self::ABSOLUTE,
            "display_absolute" | "display-absolute" => Self::DISPLAY_ABSOLUTE,
            "seconds" => Self::SECONDS,
            "null2zero" => Self::NULL2ZERO,
            "objectrows" => Self::OBJECTROWS,
            "google_json" | "google-json" => Self::GOOGLE_JSON,
            "percentage" => Self::PERCENTAGE,
            "unaligned" => Self::NOT_ALIGNED,
            "match_ids" | "match-ids" => Self::MATCH_IDS,
            "match_names" | "match-names" => Self::MATCH_NAMES,
            "showcustomvars" => Self::CUSTOM_VARS,
            "allow_past" => Self::ALLOW_PAST,
            _ => return None,
        })
    }

    /// Adds every word of `list` (separated by `,`, `|` or space); unknown words are ignored.
    pub fn add_list(self, list: &str) -> Self {
        list.split([',', '|', ' ']).filter_map(Self::flag_of).fold(self, Options::with)
    }
}

/// Grouping method (`group=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grouping {
    #[default]
    Average,
    Min,
    Max,
    Sum,
    IncrementalSum,
    Median,
    Stddev,
    Cv,
    Ses,
    Des,
}

impl Grouping {
    /// Parses a method name; unknown names are `None` (the data API then uses average).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "average" | "mean" => Grouping::Average,
            "min" => Grouping::Min,
            "max" => Grouping::Max,
            "sum" => Grouping::Sum,
            "incremental_sum" | "incremental-sum" => Grouping::IncrementalSum,
            "median" => Grouping::Median,
            "stddev" => Grouping::Stddev,
            "cv" | "rsd" => Grouping::Cv,
            "ses" | "ema" | "ewma" => Grouping::Ses,
            "des" => Grouping::Des,
            _ => return None,
        })
    }
}

/// Output format (`format=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    Jsonp,
    Datatable,
    Datasource,
    Csv,
    Tsv,
    Ssv,
    SsvComma,
    Array,
    Html,
    Markdown,
    CsvJsonArray,
}

impl Format {
    /// Parses a format name; unknown ⇒ json.
    pub fn parse(s: &str) -> Self {
        match s {
            "jsonp" => Format::Jsonp,
            "datatable" => Format::Datatable,
            "datasource" => Format::Datasource,
            "csv" => Format::Csv,
            "tsv" | "tsv-excel" => Format::Tsv,
            "ssv" => Format::Ssv,
            "ssvcomma" => Format::SsvComma,
            "array" => Format::Array,
            "html" => Format::Html,
            "markdown" => Format::Markdown,
            "csvjsonarray" => Format::CsvJsonArray,
            _ => Format::Json,
        }
    }

    /// The name reported in the jsonwrap `format` field.
    pub fn wrapper_name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Jsonp => "jsonp",
            Format::Datatable => "datatable",
            Format::Datasource => "datasource",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Ssv => "ssv",
            Format::SsvComma => "ssvcomma",
            Format::Array => "array",
            Format::Html => "html",
            Format::Markdown | Format::CsvJsonArray => "unknown",
        }
    }
}

/// Parses like C `strtol(s, NULL, 10)`: optional blanks and sign, then digits; no digits
/// ⇒ 0; saturates instead of overflowing.
pub fn parse_long(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -v
    } else {
        v
    }
}

/// Google Visualization `tqx` settings (datasource format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tqx {
    pub version: String,
    pub req_id: String,
    pub sig: String,
    pub response_handler: String,
    pub out_file_name: Option<String>,
    /// `out:` overrides the format (`json`, `html`, `csv`, `tsv-excel`).
    pub out: Option<String>,
}

impl Default for Tqx {
    fn default() -> Self {
        Tqx {
            version: "0.6".into(),
            req_id: "0".into(),
            sig: "0".into(),
            response_handler: "google.visualization.Query.setResponse".into(),
            out_file_name: None,
            out: None,
        }
    }
}

impl Tqx {
    pub fn parse(s: &str) -> Self {
        let mut t = Tqx::default();
        for part in s.split(';') {
            let Some((k, v)) = part.split_once(':') else {
                continue;
            };
            let v = v.to_string();
            match k.trim() {
                "version" => t.version = v,
                "reqId" => t.req_id = v,
                "sig" => t.sig = v,
                "out" => t.out = Some(v),
                "responseHandler" => t.response_handler = v,
                "outFileName" => t.out_file_name = Some(v),
                _ => {}
            }
        }
        t
    }
}

/// Every parameter of one `/api/v1/data` request.
#[derive(Debug, Clone, PartialEq)]
pub struct DataParams {
    pub chart: Option<String>,
    pub context: Option<String>,
    /// Dimension patterns, all occurrences joined with `|`.
    pub dimensions: Option<String>,
    pub after: i64,
    pub before: i64,
    pub points: i64,
    pub group: Grouping,
    pub gtime: i64,
    pub format: Format,
    pub options: Options,
    pub callback: String,
    pub filename: Option<String>,
    pub tqx: Option<Tqx>,
}

impl DataParams {
    pub fn from_query(q: &Query) -> Self {
        let dims: Vec<&str> = q.all(&["dimension", "dim", "dimensions", "dims"]).collect();
        let options = q.all(&["options"]).fold(Options::default(), Options::add_list);
        let tqx = q.get("tqx").map(Tqx::parse);
        let mut format = q.get("format").map(Format::parse).unwrap_or_default();
        if let Some(out) = tqx.as_ref().and_then(|t| t.out.as_deref()) {
            format = match out {
                "html" => Format::Html,
                "csv" => Format::Csv,
                "tsv-excel" => Format::Tsv,
                _ => Format::Datasource,
            };
        } else if tqx.is_some() {
            format = Format::Datasource;
        }
        DataParams {
            chart: q.get("chart").map(str::to_string),
            context: q.get("context").map(str::to_string),
            dimensions: (!dims.is_empty()).then(|| dims.join("|")),
            after: q.get("after").map(parse_long).unwrap_or(-600),
            before: q.get("before").map(parse_long).unwrap_or(0),
            points: q.get("points").map(parse_long).unwrap_or(0),
            group: q.get("group").and_then(Grouping::parse).unwrap_or_default(),
            gtime: q.get("gtime").map(parse_long).unwrap_or(0),
            format,
            options,
            callback: q.get("callback").unwrap_or("callback").to_string(),
            filename: q.get("filename").map(str::to_string),
            tqx,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let p = DataParams::from_query(&Query::parse("chart=system.cpu"));
        assert_eq!(p.chart.as_deref(), Some("system.cpu"));
        assert_eq!((p.after, p.before, p.points, p.gtime), (-600, 0, 0, 0));
        assert_eq!((p.group, p.format), (Grouping::Average, Format::Json));
        assert_eq!(p.options, Options(0));
        assert_eq!(p.callback, "callback");
        assert_eq!(p.dimensions, None);
    }

    #[test]
    fn options_accumulate_and_aliases() {
        let p = DataParams::from_query(&Query::parse(
            "options=flip%7Cms&options=jsonwrap,nonzero%20absolute&options=bogus&format=tsv-excel&group=ewma",
        ));
        let o = p.options;
        assert!(o.has(Options::REVERSED) && o.has(Options::MILLISECONDS) && o.has(Options::JSON_WRAP));
        assert!(o.has(Options::NONZERO) && o.has(Options::ABSOLUTE));
        assert!(!o.has(Options::SECONDS));
        assert_eq!(p.format, Format::Tsv);
        assert_eq!(p.group, Grouping::Ses);
    }

    #[test]
    fn dims_join_and_lenient_numbers() {
        let p = DataParams::from_query(&Query::parse(
            "dims=a,b&dimension=c&after=-60s&before=x&points=abc&group=nope&format=nope",
        ));
        assert_eq!(p.dimensions.as_deref(), Some("a,b|c"));
        assert_eq!((p.after, p.before, p.points), (-60, 0, 0));
        assert_eq!((p.group, p.format), (Grouping::Average, Format::Json));
        assert_eq!(parse_long(" +42"), 42);
        assert_eq!(parse_long("-99999999999999999999999"), -i64::MAX);
    }

    #[test]
    fn tqx_selects_datasource() {
        let p = DataParams::from_query(&Query::parse("tqx=reqId:7;sig:123;responseHandler:cb&format=json"));
        assert_eq!(p.format, Format::Datasource);
        let t = p.tqx.unwrap();
        assert_eq!((t.req_id.as_str(), t.sig.as_str(), t.response_handler.as_str()), ("7", "123", "cb"));
        assert_eq!(t.version, "0.6");
    }
}
