//! Java's JAAS login configuration file (`-Djava.security.auth.login.config=...`), the syntax of
//! Java's `ConfigFile`: sections `Name { module.Class flag key="value" ...; ... };`, with `//`,
//! `/* */` and `#` comments, quoted or bare values and `${property}` expansion in quoted values.

use thiserror::Error;

/// Why a JAAS file could not be read: the line and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {message}")]
pub struct JaasError {
    /// 1-based line of the offending token (or of the end of the text).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// One login module line of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginModule {
    /// The module's Java class, e.g. `org.apache.zookeeper.server.auth.DigestLoginModule`.
    pub class: String,
    /// `required`, `requisite`, `sufficient` or `optional` (lower case).
    pub flag: String,
    /// The options in file order.
    pub options: Vec<(String, String)>,
}

/// One named section (a login context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The section name, e.g. `Server`.
    pub name: String,
    /// Its login modules in order.
    pub modules: Vec<LoginModule>,
}

/// A parsed JAAS file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JaasConfig {
    /// The sections in file order (names are unique).
    pub sections: Vec<Section>,
}

impl JaasConfig {
    /// Parses `text`; `property` expands `${name}` in quoted values (unknown names are errors, as Java's).
    pub fn parse(
        text: &str,
        property: &dyn Fn(&str) -> Option<String>,
    ) -> Result<JaasConfig, JaasError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens,
            at: 0,
            end_line: text.lines().count().max(1),
        };
        let mut config = JaasConfig::default();
        while parser.peek().is_some() {
            let (line, name) = parser.word("a section name")?;
            if config.section(&name).is_some() {
                return Err(JaasError {
                    line,
                    message: format!("Can not specify multiple entries for {name}"),
                });
            }
            parser.expect('{')?;
            let mut modules = Vec::new();
            while !parser.next_is('}') {
                modules.push(parser.module(property)?);
            }
            parser.expect('}')?;
            parser.expect(';')?;
            config.sections.push(Section { name, modules });
        }
        Ok(config)
    }

    /// The section called `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Punct(char),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Word(w) => format!("'{w}'"),
            Token::Quoted(q) => format!("\"{q}\""),
            Token::Punct(c) => format!("'{c}'"),
        }
    }
}

/// Splits the text into words, quoted strings and punctuation, dropping comments.
fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, JaasError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => skip_line(&mut chars, &mut line),
            '/' if chars.peek() == Some(&'/') => skip_line(&mut chars, &mut line),
            '/' if chars.peek() == Some(&'*') => {
                let start = line;
                chars.next();
                let mut last = ' ';
                loop {
                    match chars.next() {
                        Some('/') if last == '*' => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            last = c;
                        }
                        None => {
                            return Err(JaasError {
                                line: start,
                                message: "unterminated /* comment".into(),
                            });
                        }
                    }
                }
            }
            '"' | '\'' => {
                let start = line;
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\\') => match chars.next() {
                            Some(escaped) => value.push(escaped),
                            None => break,
                        },
                        Some(ch) => {
                            if ch == '\n' {
                                line += 1;
                            }
                            value.push(ch);
                        }
                        None => {
                            return Err(JaasError {
                                line: start,
                                message: "unterminated quoted string".into(),
                            });
                        }
                    }
                }
                tokens.push((start, Token::Quoted(value)));
            }
            '{' | '}' | ';' | '=' => tokens.push((line, Token::Punct(c))),
            c => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || matches!(n, '{' | '}' | ';' | '=' | '"' | '\'' | '#') {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                tokens.push((line, Token::Word(word)));
            }
        }
    }
    Ok(tokens)
}

fn skip_line(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, line: &mut usize) {
    for c in chars.by_ref() {
        if c == '\n' {
            *line += 1;
            break;
        }
    }
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    end_line: usize,
}

impl Parser {
    fn peek(&self) -> Option<&(usize, Token)> {
        self.tokens.get(self.at)
    }

    fn next_is(&self, c: char) -> bool {
        matches!(self.peek(), Some((_, Token::Punct(p))) if *p == c)
    }

    fn error(&self, expected: &str) -> JaasError {
        match self.peek() {
            Some((line, token)) => JaasError {
                line: *line,
                message: format!("expected {expected}, found {}", token.describe()),
            },
            None => JaasError {
                line: self.end_line,
                message: format!("expected {expected}, found the end of the file"),
            },
        }
    }

    fn expect(&mut self, c: char) -> Result<(), JaasError> {
        if self.next_is(c) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(&format!("'{c}'")))
        }
    }

    fn word(&mut self, expected: &str) -> Result<(usize, String), JaasError> {
        match self.peek() {
            Some((line, Token::Word(w))) => {
                let found = (*line, w.clone());
                self.at += 1;
                Ok(found)
            }
            _ => Err(self.error(expected)),
        }
    }

    fn module(
        &mut self,
        property: &dyn Fn(&str) -> Option<String>,
    ) -> Result<LoginModule, JaasError> {
        let (_, class) = self.word("a login module class name")?;
        let (line, flag) =
            self.word("a control flag (required, requisite, sufficient or optional)")?;
        let flag = flag.to_ascii_lowercase();
        if !matches!(
            flag.as_str(),
            "required" | "requisite" | "sufficient" | "optional"
        ) {
            return Err(JaasError {
                line,
                message: format!(
                    "invalid control flag '{flag}': expected required, requisite, sufficient or optional"
                ),
            });
        }
        let mut options = Vec::new();
        while !self.next_is(';') {
            let (_, key) = self.word("an option name or ';'")?;
            self.expect('=')?;
            let value = match self.peek() {
                Some((line, Token::Quoted(q))) => {
                    let line = *line;
                    let q = q.clone();
                    self.at += 1;
                    expand(&q, line, property)?
                }
                Some((_, Token::Word(w))) => {
                    let w = w.clone();
                    self.at += 1;
                    w
                }
                _ => return Err(self.error(&format!("a value for option {key}"))),
            };
            options.push((key, value));
        }
        self.expect(';')?;
        Ok(LoginModule {
            class,
            flag,
            options,
        })
    }
}

/// Replaces `${name}` by the system property `name`.
fn expand(
    value: &str,
    line: usize,
    property: &dyn Fn(&str) -> Option<String>,
) -> Result<String, JaasError> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(JaasError {
                line,
                message: format!("unterminated ${{ in \"{value}\""),
            });
        };
        let name = &after[..end];
        match property(name) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(JaasError {
                    line,
                    message: format!("system property {name} is not set (used in \"{value}\")"),
                });
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<JaasConfig, JaasError> {
        JaasConfig::parse(text, &|name| (name == "home").then(|| "/h".to_string()))
    }

    #[test]
    fn reads_apache_server_section() {
        let config = parse(
            "// users\nServer {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
             user_super=\"adminsecret\"\n  user_bob=\"bob\\\"pw\" # comment\n  user_x=bare;\n};\n\
             /* the client */ Client { a.B optional; };",
        )
        .unwrap();
        let server = config.section("Server").unwrap();
        assert_eq!(server.modules.len(), 1);
        assert_eq!(server.modules[0].flag, "required");
        assert_eq!(
            server.modules[0].options,
            vec![
                ("user_super".to_string(), "adminsecret".to_string()),
                ("user_bob".to_string(), "bob\"pw".to_string()),
                ("user_x".to_string(), "bare".to_string()),
            ]
        );
        assert!(
            config.section("Client").unwrap().modules[0]
                .options
                .is_empty()
        );
        assert!(config.section("Nope").is_none());
    }

    #[test]
    fn expands_properties_in_quoted_values() {
        let config = parse("S { m required keyTab=\"${home}/k\"; };").unwrap();
        assert_eq!(config.sections[0].modules[0].options[0].1, "/h/k");
        let err = parse("S { m required keyTab=\"${nope}\"; };").unwrap_err();
        assert!(err.message.contains("nope"), "{err}");
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let cases = [
            (
                "Server {\n m required user_a=\"x\"\n};",
                3,
                "expected an option name or ';'",
            ),
            ("Server {\n m maybe;\n};", 2, "invalid control flag 'maybe'"),
            ("Server {\n m required user_a \"x\";\n};", 2, "expected '='"),
            (
                "Server {\n m required;\n}",
                3,
                "expected ';', found the end",
            ),
            (
                "Server {\n m required user_a=\"x;\n};",
                2,
                "unterminated quoted string",
            ),
            (
                "A { m required; };\nA { m required; };",
                2,
                "multiple entries for A",
            ),
            ("/* open", 1, "unterminated /* comment"),
            ("{ };", 1, "expected a section name"),
        ];
        for (text, line, message) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text}: {err}");
            assert!(err.message.contains(message), "{text}: {err}");
        }
    }

    #[test]
    fn empty_file_has_no_sections() {
        assert_eq!(parse("  # nothing\n").unwrap(), JaasConfig::default());
    }
}
