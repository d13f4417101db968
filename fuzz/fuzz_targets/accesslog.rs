#![no_main]
//! Access-log lines: the combined format and a custom nginx `log_format`.
use libfuzzer_sys::fuzz_target;
use lookout_accesslog::{LogFormat, Parser, ParserConfig};

const NGINX: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status \
$body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_time $upstream_response_time $host";

fuzz_target!(|data: &[u8]| {
    let mut combined = Parser::new(&ParserConfig::new(LogFormat::Combined)).expect("combined");
    let _ = combined.parse(data);
    let mut nginx =
        Parser::new(&ParserConfig::new(LogFormat::Nginx(NGINX.to_string()))).expect("nginx");
    let _ = nginx.parse(data);
    let mut json = Parser::new(&ParserConfig::new(LogFormat::Json(Box::default()))).expect("json");
    let _ = json.parse(data);
});
