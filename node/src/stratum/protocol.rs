//! Stratum V1 wire format: parsing requests into typed parameters and writing
//! responses and notifications as single JSON lines.
//!
//! Parsing checks only shape (syntax); what the values mean is checked by the
//! session and submit validation.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use super::difficulty::Difficulty;
use super::error::StratumError;

/// Longest worker name accepted; names only label statistics.
pub const MAX_WORKER_NAME: usize = 128;
/// Longest user agent kept from `mining.subscribe`.
pub const MAX_USER_AGENT: usize = 128;

/// A request line as received: the id is echoed back untouched.
#[derive(Debug, Deserialize)]
pub struct Request<'a> {
    /// The request id (number, string or null); null marks a notification.
    #[serde(borrow, default)]
    pub id: Option<&'a RawValue>,
    /// The method name, e.g. `mining.submit`.
    pub method: String,
    /// The parameters, normally an array.
    #[serde(default)]
    pub params: Value,
}

impl<'a> Request<'a> {
    /// Parses one line. Errors are [`StratumError::Malformed`].
    pub fn parse(line: &'a [u8]) -> Result<Self, StratumError> {
        serde_json::from_slice(line).map_err(|e| StratumError::Malformed(e.to_string()))
    }

    /// The id as raw JSON text, `null` when absent.
    pub fn id_json(&self) -> &str {
        self.id.map(RawValue::get).unwrap_or("null")
    }

    /// True for a notification (no id or a null id): no answer is expected.
    pub fn is_notification(&self) -> bool {
        self.id_json() == "null"
    }
}

/// A typed call, after its parameters have been checked for shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// `mining.subscribe [user_agent?, session_id?, ...]`.
    Subscribe(SubscribeParams),
    /// `mining.authorize [name.worker, password?]`.
    Authorize(AuthorizeParams),
    /// `mining.configure [[extensions], {params}]` (BIP 310).
    Configure(ConfigureParams),
    /// `mining.suggest_difficulty [d]`.
    SuggestDifficulty(Difficulty),
    /// `mining.extranonce.subscribe []`.
    ExtranonceSubscribe,
    /// `mining.submit [worker, job_id, en2, ntime, nonce, version_bits?]`.
    Submit(SubmitParams),
}

/// Parameters of `mining.subscribe`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubscribeParams {
    /// The miner's software, for statistics.
    pub user_agent: Option<String>,
    /// A previous session id (our extranonce1 in hex) to resume.
    pub session_id: Option<String>,
}

/// Parameters of `mining.authorize`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizeParams {
    /// `name.worker`, only a label for statistics.
    pub worker: String,
}

/// Parameters of `mining.configure`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfigureParams {
    /// Extension names the miner asks for.
    pub extensions: Vec<String>,
    /// `version-rolling.mask`, when given.
    pub version_rolling_mask: Option<u32>,
    /// `minimum-difficulty.value`, when given.
    pub minimum_difficulty: Option<Difficulty>,
}

/// Parameters of `mining.submit`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitParams {
    /// Worker name as authorized.
    pub worker: String,
    /// The job id from `mining.notify`.
    pub job_id: String,
    /// extranonce2 as sent (hex, checked against the size later).
    pub extranonce2: String,
    /// Header time.
    pub ntime: u32,
    /// Header nonce.
    pub nonce: u32,
    /// Rolled version bits (BIP 310), only with 6 parameters.
    pub version_bits: Option<u32>,
}

impl Call {
    /// Turns a request into a typed call, checking the parameters' shape.
    pub fn from_request(request: &Request<'_>) -> Result<Call, StratumError> {
        let params = request.params.as_array().map(Vec::as_slice).unwrap_or(&[]);
        match request.method.as_str() {
            "mining.subscribe" => Ok(Call::Subscribe(SubscribeParams {
                user_agent: opt_string(params.first()).map(|s| truncate(&s, MAX_USER_AGENT)),
                session_id: opt_string(params.get(1)).filter(|s| !s.is_empty()),
            })),
            "mining.authorize" => parse_authorize(params),
            "mining.configure" => parse_configure(params),
            "mining.suggest_difficulty" => parse_suggest(params),
            "mining.extranonce.subscribe" => Ok(Call::ExtranonceSubscribe),
            "mining.submit" => parse_submit(params),
            other => Err(StratumError::UnknownMethod(truncate(other, 64))),
        }
    }
}

fn invalid(method: &'static str, detail: impl Into<String>) -> StratumError {
    StratumError::InvalidParams {
        method,
        detail: detail.into(),
    }
}

fn opt_string(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn parse_authorize(params: &[Value]) -> Result<Call, StratumError> {
    const M: &str = "mining.authorize";
    let worker = params
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(M, "expected [\"name.worker\", \"password\"]"))?;
    if worker.is_empty() || worker.len() > MAX_WORKER_NAME {
        return Err(invalid(
            M,
            format!("worker name must be 1 to {MAX_WORKER_NAME} bytes"),
        ));
    }
    if worker.chars().any(char::is_control) {
        return Err(invalid(M, "worker name contains control characters"));
    }
    Ok(Call::Authorize(AuthorizeParams {
        worker: worker.to_owned(),
    }))
}

fn parse_configure(params: &[Value]) -> Result<Call, StratumError> {
    const M: &str = "mining.configure";
    let extensions = params
        .first()
        .and_then(Value::as_array)
        .ok_or_else(|| invalid(M, "expected [[extensions], {params}]"))?
        .iter()
        .filter_map(Value::as_str)
        .map(|s| truncate(s, 64))
        .take(16)
        .collect();
    let mut parsed = ConfigureParams {
        extensions,
        ..Default::default()
    };
    if let Some(map) = params.get(1).and_then(Value::as_object) {
        if let Some(mask) = map.get("version-rolling.mask") {
            let mask = mask
                .as_str()
                .ok_or_else(|| invalid(M, "version-rolling.mask must be hex"))?;
            parsed.version_rolling_mask = Some(parse_hex_u32(mask).map_err(|e| invalid(M, e))?);
        }
        if let Some(value) = map.get("minimum-difficulty.value") {
            let value = value
                .as_f64()
                .ok_or_else(|| invalid(M, "minimum-difficulty.value must be a number"))?;
            parsed.minimum_difficulty =
                Some(Difficulty::new(value).map_err(|e| invalid(M, e.to_string()))?);
        }
    }
    Ok(Call::Configure(parsed))
}

fn parse_suggest(params: &[Value]) -> Result<Call, StratumError> {
    const M: &str = "mining.suggest_difficulty";
    let value = params
        .first()
        .and_then(Value::as_f64)
        .ok_or_else(|| invalid(M, "expected [difficulty]"))?;
    Difficulty::new(value)
        .map(Call::SuggestDifficulty)
        .map_err(|e| invalid(M, e.to_string()))
}

fn parse_submit(params: &[Value]) -> Result<Call, StratumError> {
    const M: &str = "mining.submit";
    if params.len() != 5 && params.len() != 6 {
        return Err(invalid(
            M,
            "expected [worker, job_id, extranonce2, ntime, nonce, version_bits?]",
        ));
    }
    let text = |i: usize, what: &str| -> Result<&str, StratumError> {
        params[i]
            .as_str()
            .ok_or_else(|| invalid(M, format!("{what} must be a string")))
    };
    let hex32 = |i: usize, what: &str| -> Result<u32, StratumError> {
        parse_hex_u32(text(i, what)?).map_err(|e| invalid(M, format!("{what}: {e}")))
    };
    let worker = text(0, "worker")?;
    if worker.len() > MAX_WORKER_NAME {
        return Err(invalid(M, "worker name too long"));
    }
    let job_id = text(1, "job_id")?;
    if job_id.len() > 32 {
        return Err(invalid(M, "job_id too long"));
    }
    let extranonce2 = text(2, "extranonce2")?;
    if extranonce2.len() > 64 {
        return Err(invalid(M, "extranonce2 too long"));
    }
    Ok(Call::Submit(SubmitParams {
        worker: worker.to_owned(),
        job_id: job_id.to_owned(),
        extranonce2: extranonce2.to_owned(),
        ntime: hex32(3, "ntime")?,
        nonce: hex32(4, "nonce")?,
        version_bits: if params.len() == 6 {
            Some(hex32(5, "version_bits")?)
        } else {
            None
        },
    }))
}

/// Parses 1 to 8 hex digits as a big-endian u32 (ntime, nonce, version bits, masks).
pub fn parse_hex_u32(s: &str) -> Result<u32, String> {
    if s.is_empty() || s.len() > 8 {
        return Err(format!(
            "expected 1 to 8 hex digits, got {} characters",
            s.len()
        ));
    }
    u32::from_str_radix(s, 16).map_err(|_| format!("not hex: {:?}", truncate(s, 16)))
}

/// A successful response line (with its trailing newline).
pub fn result_line<T: Serialize>(id_json: &str, result: &T) -> String {
    let result = serde_json::to_string(result).expect("stratum results serialize to JSON");
    format!("{{\"id\":{id_json},\"result\":{result},\"error\":null}}\n")
}

/// An error response line: `{"id":n,"result":null,"error":[code,"msg",null]}`.
pub fn error_line(id_json: &str, error: &StratumError) -> String {
    let message = serde_json::to_string(&error.to_string()).expect("strings serialize to JSON");
    format!(
        "{{\"id\":{id_json},\"result\":null,\"error\":[{},{message},null]}}\n",
        error.code()
    )
}

/// A server-to-miner notification line.
pub fn notification_line<T: Serialize>(method: &str, params: &T) -> String {
    let params = serde_json::to_string(params).expect("stratum params serialize to JSON");
    format!("{{\"id\":null,\"method\":\"{method}\",\"params\":{params}}}\n")
}

/// `mining.set_difficulty [d]`.
pub fn set_difficulty_line(difficulty: Difficulty) -> String {
    notification_line("mining.set_difficulty", &[difficulty.as_f64()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(line: &str) -> Result<Call, StratumError> {
        Call::from_request(&Request::parse(line.as_bytes())?)
    }

    #[test]
    fn parses_bitaxe_session() {
        assert!(matches!(
            call(r#"{"id":1,"method":"mining.subscribe","params":["bitaxe v2.2"]}"#),
            Ok(Call::Subscribe(SubscribeParams {
                user_agent: Some(_),
                session_id: None
            }))
        ));
        let configure = call(
            r#"{"id":2,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"ffffffff","version-rolling.min-bit-count":16}]}"#,
        )
        .unwrap();
        assert_eq!(
            configure,
            Call::Configure(ConfigureParams {
                extensions: vec!["version-rolling".into()],
                version_rolling_mask: Some(0xffff_ffff),
                minimum_difficulty: None,
            })
        );
        let submit =
            call(r#"{"id":5,"method":"mining.submit","params":["a.b","1f","0000000000000001","6553f100","deadbeef","00002000"]}"#)
                .unwrap();
        let Call::Submit(s) = submit else {
            panic!("not a submit")
        };
        assert_eq!(
            (s.ntime, s.nonce, s.version_bits),
            (0x6553f100, 0xdeadbeef, Some(0x2000))
        );
    }

    #[test]
    fn rejects_bad_shapes_with_code_20() {
        for line in [
            r#"{"id":1,"method":"mining.submit","params":["a","b"]}"#,
            r#"{"id":1,"method":"mining.submit","params":["a","b","00","zz","00000000"]}"#,
            r#"{"id":1,"method":"mining.suggest_difficulty","params":[-1]}"#,
            r#"{"id":1,"method":"mining.authorize","params":[""]}"#,
            r#"{"id":1,"method":"mining.nope","params":[]}"#,
            r#"{"id":1,"params":[]}"#,
            r#"not json"#,
        ] {
            let err = call(line).unwrap_err();
            assert_eq!(err.code(), 20, "{line}: {err}");
        }
    }

    #[test]
    fn error_line_has_the_standard_shape() {
        let line = error_line("7", &StratumError::JobNotFound);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["id"], 7);
        assert!(v["result"].is_null());
        assert_eq!(v["error"][0], 21);
        assert!(v["error"][1].is_string());
        assert!(v["error"][2].is_null());
        assert!(line.ends_with('\n'));
    }

    #[test]
    fn ids_are_echoed_verbatim() {
        let request = Request::parse(br#"{"id":"abc","method":"mining.subscribe"}"#).unwrap();
        assert_eq!(request.id_json(), "\"abc\"");
        let request = Request::parse(br#"{"method":"x"}"#).unwrap();
        assert!(request.is_notification());
    }
}
