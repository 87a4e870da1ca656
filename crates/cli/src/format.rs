//! Output helpers shared by the commands: left-aligned tables with `#Header` columns, as
//! RocketMQ's tools print them, and timestamps in RocketMQ's `yyyy-MM-dd HH:mm:ss,SSS` form.

/// A table printed with each column as wide as its widest cell, two spaces between columns.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers (written as given, e.g. `#Topic`).
    pub fn new<I, S>(headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self { headers: headers.into_iter().map(Into::into).collect(), rows: Vec::new() }
    }

    /// Appends a row; missing cells print empty, extra cells are dropped.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: ToString,
    {
        let mut row: Vec<String> = cells.into_iter().map(|c| c.to_string()).collect();
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
    }

    /// Number of rows (headers excluded).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as lines, each ending in a newline; trailing spaces trimmed.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for line in std::iter::once(&self.headers).chain(&self.rows) {
            let mut text = String::new();
            for (i, (cell, w)) in line.iter().zip(&widths).enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                let pad = w.saturating_sub(cell.chars().count());
                text.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Milliseconds since the epoch as `yyyy-MM-dd HH:mm:ss,SSS` (UTC); 0 or less prints as `-`,
/// which is what a queue that never received a message reports.
pub fn format_millis(ms: i64) -> String {
    if ms <= 0 {
        return "-".to_owned();
    }
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02},{millis:03}",
        tod / 3600,
        (tod % 3600) / 60,
        tod % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A body for display: UTF-8 as is, anything else as hex.
pub fn body_text(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(s) => s.to_owned(),
        Err(_) => body.iter().map(|b| format!("{b:02X}")).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(["#Topic", "#QID", "#Max Offset"]);
        t.row(["TopicTest", "0", "12"]);
        t.row(["T", "10"]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "#Topic     #QID  #Max Offset");
        assert_eq!(lines[1], "TopicTest  0     12");
        assert_eq!(lines[2], "T          10");
        assert_eq!(t.len(), 2);
        assert!(Table::new(["#A"]).is_empty());
    }

    #[test]
    fn millis_format_like_rocketmq() {
        assert_eq!(format_millis(0), "-");
        assert_eq!(format_millis(1), "1970-01-01 00:00:00,001");
        assert_eq!(format_millis(951_782_400_000), "2000-02-29 00:00:00,000");
        assert_eq!(format_millis(1_795_339_623_456), "2026-11-22 09:27:03,456");
        assert_eq!(body_text(b"hi"), "hi");
        assert_eq!(body_text(&[0xff, 0x01]), "FF01");
    }
}
