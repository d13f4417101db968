//! Pattern rules in the spirit of the OWASP Core Rule Set for cross-site scripting, path
//! traversal and file/resource inclusion, command injection and server-side template or
//! expression injection. Each rule names its kind and a score; all rules of one view are
//! compiled into one automaton ([`regex::bytes::RegexSet`]) so a field is scanned once,
//! in linear time, and only a matching field is scanned again to cut out the evidence.
//!
//! Catches: script tags and event handlers in their obfuscated spellings (entities, JS
//! escapes, control characters in schemes), `../` chains and sensitive paths, XXE
//! entities, dangerous URL schemes, shell separators followed by commands, template
//! expressions (`{{7*7}}`, `${jndi:…}`, OGNL, SpEL, Python dunder chains). Misses:
//! payloads split across fields, novel encodings not listed in `decode`, commands without
//! a separator before them. Cost: one DFA pass per view per field.

use crate::Kind;
use regex::bytes::{Regex, RegexSet};
use std::sync::LazyLock;

/// Which decoded form of a field a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Percent-decoded, lowercased.
    Plain,
    /// Plain, then HTML references and JS escapes decoded, tabs and newlines removed.
    Markup,
}

// Order matters on ties: the first rule of equal score names the kind, so command
// injection (`;cat /etc/passwd`) comes before the file paths it names.

/// Whether a rule applies to every field or only to values an application reads as
/// parameters (internal addresses are normal in a `Referer`, not in a `url=` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Any,
    Parameter,
}

pub struct Rule {
    pub name: &'static str,
    pub kind: Kind,
    pub score: f64,
    pub view: View,
    pub scope: Scope,
    pub pattern: &'static str,
}

macro_rules! rules {
    ($( $name:literal, $kind:ident, $score:literal, $view:ident, $scope:ident, $pat:literal; )*) => {
        &[$( Rule { name: $name, kind: Kind::$kind, score: $score, view: View::$view, scope: Scope::$scope, pattern: $pat } ),*]
    };
}

/// The rule table.
pub static RULES: &[Rule] = rules![
    // ---- cross-site scripting (markup view) ----
    "script_tag", Xss, 0.95, Markup, Any, r"<\s*script[\s/>]|<\s*/\s*script\s*>";
    "event_handler_in_tag", Xss, 0.9, Markup, Any, r"<[a-z!][^>]*?[\s/'\x22\x60+]on[a-z]{3,}\s*=";
    "event_handler_attribute", Xss, 0.75, Markup, Any, r"[\x22'\x60][\s/]*on(error|load|mouse[a-z]+|focus[a-z]*|blur|click|dblclick|key[a-z]+|start|begin|end|toggle|animation[a-z]+|transition[a-z]+|pointer[a-z]+|change|submit|input|wheel|scroll|drag[a-z]*|drop|copy|paste|cut|play|pause|resize|hashchange|message|pageshow|popstate|unload|beforeunload|auxclick|contextmenu|readystatechange)\s*=";
    "script_scheme", Xss, 0.9, Markup, Any, r"(java|vb|live)script\s*:\s*([^\s;\x22'\\v]|v[^o])";
    "legacy_markup", Xss, 0.8, Markup, Any, r"<\s*(xml|\?xml-stylesheet|\?import|import|xsl:|svg:|listener|\?xml:namespace)[\s>:]|datasrc\s*=|dataformatas\s*=|datafld\s*=|xmlns:ev\s*=|implementation\s*=\s*['\x22]?#default|(^|[\s;\x22'{])(-moz-)?binding\s*:|behaviou?r\s*:\s*url";
    "style_attribute", Xss, 0.75, Markup, Any, r"<[a-z/!][^>]*[\s/\x22']style\s*=[^>]*(expression|url\s*\(|behaviou?r|binding|@import|\\[0-9a-f]|\\0|script|[{}\[\]]|/\*|&#)";
    "download_link", Xss, 0.7, Markup, Any, r"<\s*a\s[^>]*\sdownload\s*=";
    "quote_then_handler", Xss, 0.75, Markup, Any, r"^[^<]*[\x22'][^<>]*[\s/]on(error|load|mouse[a-z]+|focus|blur|click|key[a-z]+|toggle|animationstart|pointer[a-z]+|begin|start)\s*=";
    "background_attribute", Xss, 0.7, Markup, Any, r"<\s*(body|table|thead|tbody|tfoot|td|th|tr|layer)[\s/][^>]*background\s*=";
    "dangerous_tag", Xss, 0.8, Markup, Any, r"<\s*(iframe|frame|frameset|object|embed|applet|base|meta|svg|math|style|link|form|isindex|marquee|xss|image|video|audio|details|template|noscript|portal|xmp|plaintext|listing|animate|set|handler|bgsound|layer|ilayer)[\s/>]";
    "markup_attack_tag", Xss, 0.55, Markup, Any, r"<\s*(img|image|input|body|button|keygen|source|track|embed|bgsound)[\s/][^>]*(src|background|action|formaction|dynsrc|lowsrc)\s*=";
    "css_expression", Xss, 0.85, Markup, Any, r"expression\s*\(|url\s*\(\s*['\x22]?\s*(java|vb)script|-moz-binding|behavior\s*:";
    "data_uri_html", Xss, 0.85, Markup, Any, r"data:\s*(text/html|image/svg\+xml|application/(x-)?javascript|text/javascript)";
    "srcdoc_formaction", Xss, 0.85, Markup, Any, r"(srcdoc|formaction|xlink:href|attributename)\s*=";
    "js_sink_call", Xss, 0.8, Markup, Any, r"(^|[^a-z0-9_])(alert|prompt|confirm|eval|settimeout|setinterval|execscript|msgbox)\s*(\(|\x60|\))";
    "dom_access", Xss, 0.8, Markup, Any, r"document\s*\.\s*(cookie|domain|write|location)|window\s*\.\s*location|\.\s*fromcharcode\s*\(|constructor\s*\.\s*prototype|\.\s*charat\s*=|\.\s*constructor\s*\(|constructor\s*\.\s*constructor|getownpropertydescriptor|__proto__";
    "js_global_index", Xss, 0.8, Markup, Any, r"(^|[^a-z0-9_])(top|self|window|frames|this|parent|globalthis|content)\s*\[\s*(['\x22/\x60(]|[a-z_]+\s*\+)";
    "jsfuck", Xss, 0.85, Markup, Any, r"\(\s*!\s*\[\s*\]\s*\+\s*\[\s*\]\s*\)|\[\s*\]\s*\[\s*\(|\+\s*!\s*!\s*\[\s*\]";
    "js_regex_source", Xss, 0.8, Markup, Any, r"/[a-z]+/\s*\.\s*source\s*\+";
    "utf7_script", Xss, 0.85, Plain, Any, r"\+adw-|\+ad4-";
    "html_comment_breakout", Xss, 0.65, Markup, Any, r"--!?>\s*<|<!\[cdata\[[^\]]*<";
    "closing_then_tag", Xss, 0.55, Markup, Any, r"[\x22']\s*>\s*<\s*[a-z]";
    // ---- command injection and code execution ----
    "separator_command", Cmdi, 0.85, Plain, Any, r"(;|\||\x60|\$\(|&&)\s*(cat|ls|id|whoami|uname|wget|curl|nc|ncat|netcat|bash|sh|zsh|ksh|ping|nslookup|dig|sleep|echo|rm|chmod|chown|touch|python[0-9.]*|perl|php|ruby|powershell|cmd|ifconfig|ipconfig|systeminfo|tasklist|head|tail|telnet|ftp|tftp|busybox|base64|printenv|ps|kill|sudo|find|awk|xargs|mkfifo|socat|cp|mv|tar|expr|hostname|pwd)(\s|$|[;&|<>\x60'\x22)]|\$\{?ifs)";
    "newline_command", Cmdi, 0.8, Plain, Any, r"[\n\r]\s*(cat|ls|id|whoami|uname|wget|curl|nc|bash|sh|ping|nslookup|sleep|echo|rm|touch|python[0-9.]*|perl|powershell|cmd)(\s+[-/$][^\n]*)?\s*$";
    "shell_path", Cmdi, 0.85, Plain, Any, r"(^|[^a-z0-9_])/(usr/)?s?bin/(ba|z|k|c|da)?sh|/bin/(cat|ls|id|nc|busybox|echo)|/dev/(tcp|udp)/|cmd(\.exe)?\s*/[ck]\s|powershell(\.exe)?\s+-(e|enc|encodedcommand|c|command|nop|w)";
    "shell_ifs", Cmdi, 0.9, Plain, Any, r"\$\{?ifs\}?|\$\{path:0:1\}|\$\{home:0:1\}";
    "command_substitution", Cmdi, 0.75, Plain, Any, r"\$\(\s*[a-z][a-z0-9_.-]+([\s<>|;&$'\x22][^)]*)?\)|\x60\s*(cat|ls|id|whoami|uname|sleep|ping|curl|wget|nslookup)([\s<>|;&$'\x22][^\x60]*)?\x60";
    "code_exec_function", Cmdi, 0.85, Plain, Any, r"(^|[^a-z0-9_.])(system|exec|passthru|shell_exec|popen|proc_open|pcntl_exec|assert|create_function|call_user_func|preg_replace)\s*\(\s*['\x22$a-z_]|runtime\s*\.\s*getruntime|java\.lang\.(processbuilder|runtime)|processbuilder\s*\(|child_process|os\.(system|popen)|subprocess\.|__import__\s*\(|<\?php|<\?=|\beval\s*\(\s*(base64_decode|gzinflate|str_rot13|\$_)";
    "redirect_to_system_path", Cmdi, 0.7, Plain, Any, r"[;|&]\s*[a-z]+[^;|&]*>\s*/(tmp|var|dev)/";
    // ---- path traversal, file and resource inclusion ----
    "dot_dot_chain", Traversal, 0.85, Plain, Any, r"(\.\.[/\\]+){2,}|([/\\]\.\.){2,}";
    "dot_dot_sensitive", Traversal, 0.9, Plain, Any, r"\.\.[/\\]+.*(etc|windows|winnt|boot\.ini|win\.ini|proc|web-inf|meta-inf|usr|var|root|home|system32)";
    "sensitive_file", Traversal, 0.85, Plain, Any, r"/etc/(passwd|shadow|group|hosts|issue|php\.ini|my\.cnf|hostname|motd|crontab|sudoers|fstab|profile|apache2/|nginx/|httpd/|ssh/)|/proc/(self|\d+)/(environ|cmdline|fd|maps|status)|/proc/version|(c:|^|[\\/])(windows|winnt)[\\/](win\.ini|system\.ini|system32)|boot\.ini|web-inf[\\/](web|classes|lib)|meta-inf[\\/]|(^|[\s./\\])web\.xml|\.htpasswd|/\.git/(config|head)|/\.svn/entries|/\.env$|/\.aws/credentials|id_rsa|/var/log/(apache|nginx|httpd|auth)";
    "dangerous_scheme", Traversal, 0.85, Plain, Any, r"(^|[^a-z])(file|php|phar|zip|expect|glob|gopher|dict|jar|ldap|ldaps|rmi|netdoc|tftp|jdbc|compress\.zlib|data)\s*:\s*/{1,3}[a-z0-9._~%-]";
    "php_filter", Traversal, 0.9, Plain, Any, r"php://(filter|input|fd|memory)|convert\.base64-(en|de)code|resource\s*=";
    "xxe_entity", Traversal, 0.9, Plain, Any, r"<!entity\s+(%\s*)?[a-z0-9_.-]+\s+(system|public)|<!doctype[^>\[]*\[\s*<!entity|<xi:include";
    "cloud_metadata", Traversal, 0.85, Plain, Any, r"169\.254\.169\.254|metadata\.google\.internal|100\.100\.100\.200|fd00:ec2::254";
    "internal_address_param", Traversal, 0.65, Plain, Parameter, r"^\s*[a-z]{3,8}://(localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|0x7f|2130706433|\[::1?\]|10\.\d+\.\d+\.\d+|192\.168\.)";
    "null_byte_extension", Traversal, 0.7, Plain, Any, r"\.\.[/\\].*\x00";
    // ---- server-side template and expression injection ----
    "jndi_lookup", Ssti, 0.95, Plain, Any, r"\$\{\s*(jndi|\$\{[^}]*\}[^}]*)\s*:|\$\{(lower|upper|env|sys|java|main|date|ctx|bundle|k8s|docker|spring|log4j|web|base64|::-[a-z])[:}]";
    "template_arithmetic", Ssti, 0.9, Plain, Any, r"(\{\{|\{|\[\[|<%=?)\s*[0-9]+\s*\*\s*[0-9]+(\s*\*\s*[0-9]+)*\s*(\}\}|\}|\]\]|%>)";
    "template_object_access", Ssti, 0.9, Plain, Any, r"\{\{[^}]{0,200}(__class__|__mro__|__subclasses__|__globals__|__builtins__|__init__|config|self\.|request\.|lipsum|cycler|joiner|namespace|\|attr|\[\s*['\x22]_|constructor|\$on|getclass|runtime|\(\s*\))";
    "python_dunder_chain", Ssti, 0.85, Plain, Any, r"__(class|mro|subclasses|globals|builtins|base|init)__\s*(\.|\[|\()";
    "expression_language", Ssti, 0.9, Plain, Any, r"[$#*%]\{[^}]{0,200}(t\s*\(\s*java\.|getclass\s*\(|class\.forname|\.getruntime|new\s+java\.|@java\.|#_memberaccess|#context|#request|#attr|ognl|\.exec\s*\(|processbuilder|forname\s*\(|classloader|scriptengine)";
    "ognl_statement", Ssti, 0.9, Plain, Any, r"\(#_memberaccess|#_memberaccess\s*=|@ognl\.|ognlcontext|#context\[|\(#[a-z_]+\s*=|%\{\s*\(?#|\$\{\s*\(?#[a-z]";
    "template_directive", Ssti, 0.85, Plain, Any, r"<#assign|<#import|freemarker\.template|#set\s*\(\s*\$|\$class\.inspect|\{php\}|\{\{\s*\.\s*\}\}|\{%\s*(import|include|set|for|if|debug|load)\s|#\{\s*['\x22]?\s*[a-z_.]+\s*\(|\{\{\s*[a-z_]+\s*\(\s*\)\s*\}\}|velocity|\$\{\s*[a-z_.]+\s*\(";
    "deserialization_gadget", Ssti, 0.85, Plain, Any, r"[\x22']@type[\x22']\s*:|rmi://|ldap://[^ ]*\}|java\.rmi\.|com\.sun\.rowset|templatesimpl|bytecodes|ro0ab[a-z0-9+/=]{8}|aced0005|objectinputstream";
];

struct Compiled {
    set: RegexSet,
    each: Vec<Regex>,
    index: Vec<usize>,
}

fn compile(view: View) -> Compiled {
    let index: Vec<usize> = (0..RULES.len())
        .filter(|&i| RULES[i].view == view)
        .collect();
    let pats: Vec<String> = index
        .iter()
        .map(|&i| format!("(?-u:{})", RULES[i].pattern))
        .collect();
    let set = RegexSet::new(&pats).expect("rule patterns compile");
    let each = pats
        .iter()
        .map(|p| Regex::new(p).expect("rule pattern compiles"))
        .collect();
    Compiled { set, each, index }
}

static PLAIN: LazyLock<Compiled> = LazyLock::new(|| compile(View::Plain));
static MARKUP: LazyLock<Compiled> = LazyLock::new(|| compile(View::Markup));

/// One rule that matched: its index in [`RULES`] and the byte range of the match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleHit {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
}

/// Matches `text` (already in the form `view` expects) against the rules of that view,
/// calling `found` for each matching rule in `scope`.
pub fn scan(view: View, text: &[u8], parameter: bool, mut found: impl FnMut(RuleHit)) {
    let c = match view {
        View::Plain => &*PLAIN,
        View::Markup => &*MARKUP,
    };
    if !c.set.is_match(text) {
        return;
    }
    for k in c.set.matches(text).iter() {
        let rule = c.index[k];
        if RULES[rule].scope == Scope::Parameter && !parameter {
            continue;
        }
        if let Some(m) = c.each[k].find(text) {
            found(RuleHit {
                rule,
                start: m.start(),
                end: m.end(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_compiles() {
        assert!(PLAIN.each.len() + MARKUP.each.len() == RULES.len());
    }
}
