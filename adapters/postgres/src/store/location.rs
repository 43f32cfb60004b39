//! [`redact_url`]: a database URL fit for error messages and logs.

/// `url` without its password: `postgres://user:secret@host/db?password=x` becomes
/// `postgres://user:***@host/db?password=***`. Anything that is not a URL is returned with
/// `password=` settings masked (the `key=value` form of a connection string).
#[must_use]
pub fn redact_url(url: &str) -> String {
    let Some(i) = url.find("://") else {
        let masked: Vec<String> = url
            .split(' ')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.to_ascii_lowercase().contains("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        return masked.join(" ");
    };
    let (scheme, rest) = url.split_at(i + 3);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.find(':') {
                Some(colon) => format!("{}:***{host}", &userinfo[..colon]),
                None => authority.to_owned(),
            }
        }
        None => authority.to_owned(),
    };
    let tail = match tail.find('?') {
        Some(q) => {
            let (path, query) = tail.split_at(q + 1);
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.to_ascii_lowercase().contains("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_masked() {
        for (url, want) in [
            ("postgres://postgres@127.0.0.1:5432/test", "postgres://postgres@127.0.0.1:5432/test"),
            ("postgres://u:s3cr%40t@db:5432/x", "postgres://u:***@db:5432/x"),
            ("postgresql://u:p@h", "postgresql://u:***@h"),
            (
                "postgres://h/db?user=u&password=p&sslmode=require",
                "postgres://h/db?user=u&password=***&sslmode=require",
            ),
            ("postgres://u:p@h/db?sslpassword=q", "postgres://u:***@h/db?sslpassword=***"),
            ("postgres:///db?host=/run/pg", "postgres:///db?host=/run/pg"),
            ("host=h user=u password=p", "host=h user=u password=***"),
        ] {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }
}
