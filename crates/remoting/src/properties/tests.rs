use super::*;

fn parse(text: &str) -> Properties {
    Properties::parse(text, "broker.conf").unwrap()
}

#[test]
fn separators_comments_and_blank_lines() {
    let p = parse(
        "# a comment\n\
         ! another\n\
         \n\
         brokerName=broker-a\n\
         brokerId : 0\n\
         listenPort 10911\n\
         \t  namesrvAddr =  127.0.0.1:9876  \n\
         emptyValue=\n\
         bareKey\n",
    );
    assert_eq!(p.get_str("brokerName").unwrap(), Some("broker-a"));
    assert_eq!(p.get_str("brokerId").unwrap(), Some("0"));
    assert_eq!(p.get_u16("listenPort").unwrap(), Some(10911));
    assert_eq!(p.get_str("namesrvAddr").unwrap(), Some("127.0.0.1:9876"));
    assert_eq!(p.get_str("emptyValue").unwrap(), Some(""));
    assert_eq!(p.get_str("bareKey").unwrap(), Some(""));
    assert_eq!(p.get_str("missing").unwrap(), None);
    assert_eq!(p.len(), 6);
    assert_eq!(p.line_of("brokerName"), Some(4));
    assert_eq!(p.line_of("namesrvAddr"), Some(7));
}

#[test]
fn java_separator_corner_cases() {
    let p = parse("a==b\nc = = d\ne:=f\ng\t\th\n");
    assert_eq!(p.get_str("a").unwrap(), Some("=b"));
    assert_eq!(p.get_str("c").unwrap(), Some("= d"));
    assert_eq!(p.get_str("e").unwrap(), Some("=f"));
    assert_eq!(p.get_str("g").unwrap(), Some("h"));
}

#[test]
fn continuation_lines_join_and_keep_the_first_line_number() {
    let p = parse("x=1\nnamesrvAddr=10.0.0.1:9876;\\\n    10.0.0.2:9876\nafter=2\n");
    assert_eq!(p.get_str("namesrvAddr").unwrap(), Some("10.0.0.1:9876;10.0.0.2:9876"));
    assert_eq!(p.line_of("namesrvAddr"), Some(2));
    assert_eq!(p.line_of("after"), Some(4));
    // An even number of backslashes is an escaped backslash, not a continuation.
    let p = parse("path=C:\\\\data\\\\\nnext=1\n");
    assert_eq!(p.get_str("path").unwrap(), Some("C:\\data\\"));
    assert_eq!(p.get_str("next").unwrap(), Some("1"));
    // A comment ending in a backslash does not continue; a continuation at EOF just ends.
    let p = parse("# comment \\\nkey=v\\");
    assert_eq!(p.get_str("key").unwrap(), Some("v"));
}

#[test]
fn escapes() {
    let p = parse("my\\ key=tab\\there\nk\\:x=\\u0041\\u00e9\nesc=a\\qb\ntrail=v\\ \n");
    assert_eq!(p.get_str("my key").unwrap(), Some("tab\there"));
    assert_eq!(p.get_str("k:x").unwrap(), Some("Aé"));
    assert_eq!(p.get_str("esc").unwrap(), Some("aqb"));
    assert_eq!(p.get_str("trail").unwrap(), Some("v "));
    let err = Properties::parse("ok=1\nbad=\\u12\n", "namesrv.conf").unwrap_err();
    assert_eq!(err.line, 2);
    assert_eq!(err.key, "bad");
    assert!(err.to_string().starts_with("namesrv.conf:2: bad: malformed"), "{err}");
}

#[test]
fn duplicates_override_and_are_recorded() {
    let p = parse("listenPort=1\nother=x\nlistenPort=2\n");
    assert_eq!(p.get_u32("listenPort").unwrap(), Some(2));
    assert_eq!(p.line_of("listenPort"), Some(3));
    assert_eq!(p.overridden(), &[(1, "listenPort".to_string())]);
}

#[test]
fn integers_parse_like_java_and_report_file_line_and_key() {
    let p = parse(
        "a=42\nb=-7\nc=+5\n\n\n\n\n\n\n\n\n\
         listenPort=abc\nneg=-1\nbig=70000\nspace=1 2\nhuge=99999999999999999999999999999999999999999\n",
    );
    assert_eq!(p.get_u64("a").unwrap(), Some(42));
    assert_eq!(p.get_i64("b").unwrap(), Some(-7));
    assert_eq!(p.get_i32("c").unwrap(), Some(5));
    let err = p.get_u32("listenPort").unwrap_err();
    assert_eq!(err.to_string(), "broker.conf:12: listenPort: expected an integer, found \"abc\"");
    assert_eq!(err.line, 12);
    let err = p.get_u64("neg").unwrap_err();
    assert!(err.message.contains("between 0 and"), "{err}");
    let err = p.get_u16("big").unwrap_err();
    assert_eq!(err.message, "expected an integer between 0 and 65535, found \"70000\"");
    assert!(p.get_i64("space").is_err());
    assert!(p.get_i64("huge").is_err());
    assert_eq!(p.get_u64("absent").unwrap(), None);
}

#[test]
fn booleans_are_strict_but_case_insensitive() {
    let p = parse("a=true\nb=FALSE\nc=True\nd=yes\ne=\n");
    assert_eq!(p.get_bool("a").unwrap(), Some(true));
    assert_eq!(p.get_bool("b").unwrap(), Some(false));
    assert_eq!(p.get_bool("c").unwrap(), Some(true));
    let err = p.get_bool("d").unwrap_err();
    assert_eq!(err.to_string(), "broker.conf:4: d: expected true or false, found \"yes\"");
    assert!(p.get_bool("e").is_err());
}

#[test]
fn floats_and_custom_parsers() {
    let p = parse("ratio=0.75\nrole=SYNC_MASTER\nbad=x\n");
    assert_eq!(p.get_f64("ratio").unwrap(), Some(0.75));
    let role = p.get_with("role", |v| match v {
        "ASYNC_MASTER" | "SYNC_MASTER" | "SLAVE" => Ok(v.to_string()),
        _ => Err(format!("unknown broker role {v:?}")),
    });
    assert_eq!(role.unwrap().as_deref(), Some("SYNC_MASTER"));
    assert!(p.get_f64("bad").is_err());
    let err = p.error("role", "not allowed here");
    assert_eq!(err.to_string(), "broker.conf:2: role: not allowed here");
}

#[test]
fn unknown_keys_come_sorted_by_line() {
    let p = parse("zeta=1\nbrokerName=a\nalpha=2\n");
    assert_eq!(
        p.unknown_keys(&["brokerName"]),
        vec![(1, "zeta".to_string()), (3, "alpha".to_string())]
    );
    assert!(p.unknown_keys(&["zeta", "brokerName", "alpha"]).is_empty());
}

#[test]
fn crlf_line_endings() {
    let p = parse("a=1\r\nb=2\r\n");
    assert_eq!(p.get_u32("a").unwrap(), Some(1));
    assert_eq!(p.get_u32("b").unwrap(), Some(2));
}

#[test]
fn display_round_trips() {
    let p = parse("my\\ key=a=b\\tc\nlead=\\ x\ntrail=y\\ \nk\\:z=\\\\path\n#hash=1\n\\#k=v\n");
    let again = Properties::parse(&p.to_string(), "x").unwrap();
    let a: Vec<_> = p.iter().map(|(k, v, _)| (k.to_string(), v.to_string())).collect();
    let b: Vec<_> = again.iter().map(|(k, v, _)| (k.to_string(), v.to_string())).collect();
    assert_eq!(a, b);
}
