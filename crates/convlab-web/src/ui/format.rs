//! How numbers read on the page.

/// A fraction as a percentage with two decimals: `90.45%`.
pub fn percent(fraction: f32) -> String {
    format!("{:.2}%", fraction * 100.0)
}

/// Seconds as `1:05` or `12.3 s`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "–".to_string();
    }
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        let s = seconds.round() as u64;
        if s >= 3600 {
            format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
        } else {
            format!("{}:{:02}", s / 60, s % 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(duration(12.34), "12.3 s");
        assert_eq!(duration(65.0), "1:05");
        assert_eq!(duration(3725.0), "1:02:05");
        assert_eq!(duration(f64::NAN), "–");
        assert_eq!(percent(0.9045), "90.45%");
    }
}
