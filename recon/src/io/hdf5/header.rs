//! The few numbers recon needs from an ISMRMRD XML header, found with a tiny tag walk (no XML
//! crate): element paths are matched on local names, so namespace prefixes do not matter, and
//! comments, processing instructions, CDATA and DOCTYPE sections are skipped.

use super::HeaderInfo;

/// Parses `encoding/encodedSpace/matrixSize/{x,y,z}`, `encoding/reconSpace/matrixSize/{x,y,z}`
/// and `encoding/encodingLimits/kspace_encoding_step_1/{center,maximum}` from the first
/// `encoding` element of an ISMRMRD header. The matrix sizes are required; the limits are not.
/// `pe_max` is the stored `maximum` (an index: fastMRI adds 1 to get a count).
pub fn parse_ismrmrd_header(xml: &str) -> Result<HeaderInfo, String> {
    let values = collect(xml)?;
    let get = |path: &[&str]| -> Result<Option<usize>, String> {
        match values.iter().find(|(p, _)| p.iter().map(String::as_str).eq(path.iter().copied())) {
            None => Ok(None),
            Some((_, text)) => text
                .parse::<usize>()
                .map(Some)
                .map_err(|_| format!("ismrmrd_header: <{}> is {text:?}, not a whole number", path.join("/"))),
        }
    };
    let mut encoded = [0usize; 3];
    let mut recon = [0usize; 3];
    for (space, out) in [("encodedSpace", &mut encoded), ("reconSpace", &mut recon)] {
        for (axis, slot) in ["x", "y", "z"].into_iter().zip(out.iter_mut()) {
            let path = ["encoding", space, "matrixSize", axis];
            *slot = get(&path)?.ok_or_else(|| format!("ismrmrd_header has no <{}>", path.join("/")))?;
        }
    }
    let limit = |leaf: &str| get(&["encoding", "encodingLimits", "kspace_encoding_step_1", leaf]);
    Ok(HeaderInfo { encoded, recon, pe_center: limit("center")?, pe_max: limit("maximum")? })
}

/// Every leaf text under the first `encoding` element, keyed by its path from `encoding`.
fn collect(xml: &str) -> Result<Vec<(Vec<String>, String)>, String> {
    let bytes = xml.as_bytes();
    let mut out: Vec<(Vec<String>, String)> = Vec::new();
    // Open elements (local names) below the first `encoding` element.
    let mut stack: Vec<String> = Vec::new();
    let mut inside = false;
    let mut done = false;
    let mut pos = 0usize;
    let unterminated = |what: &str| format!("ismrmrd_header: unterminated {what}");
    while !done {
        let Some(rel) = xml[pos..].find('<') else { break };
        let lt = pos + rel;
        if inside && !stack.is_empty() {
            let text = xml[pos..lt].trim();
            if !text.is_empty() {
                out.push((stack.clone(), text.to_string()));
            }
        }
        let rest = &xml[lt..];
        let skip_to = |end: &str, what: &str| -> Result<usize, String> {
            rest.find(end).map(|e| lt + e + end.len()).ok_or_else(|| unterminated(what))
        };
        if rest.starts_with("<!--") {
            pos = skip_to("-->", "comment")?;
        } else if rest.starts_with("<![CDATA[") {
            pos = skip_to("]]>", "CDATA section")?;
        } else if rest.starts_with("<?") {
            pos = skip_to("?>", "processing instruction")?;
        } else if rest.starts_with("<!") {
            pos = skip_to(">", "declaration")?;
        } else {
            // A start or end tag: find its '>' outside quoted attribute values.
            let mut quote: Option<u8> = None;
            let mut end = None;
            for (k, &b) in bytes[lt + 1..].iter().enumerate() {
                match (quote, b) {
                    (Some(q), _) if b == q => quote = None,
                    (Some(_), _) => {}
                    (None, b'"' | b'\'') => quote = Some(b),
                    (None, b'>') => {
                        end = Some(lt + 1 + k);
                        break;
                    }
                    _ => {}
                }
            }
            let gt = end.ok_or_else(|| unterminated("tag"))?;
            let tag = &xml[lt + 1..gt];
            pos = gt + 1;
            if let Some(closing) = tag.strip_prefix('/') {
                let name = local_name(closing);
                if inside {
                    if stack.is_empty() {
                        // The first `encoding` element itself closes: nothing more to read.
                        done = true;
                    } else {
                        // Pop up to and including the matching element (tolerates bad nesting).
                        while let Some(top) = stack.pop() {
                            if top == name {
                                break;
                            }
                        }
                    }
                }
            } else {
                let self_closing = tag.ends_with('/');
                let name = local_name(tag.trim_end_matches('/'));
                if inside {
                    if !self_closing {
                        stack.push(name.to_string());
                    }
                } else if name == "encoding" && !self_closing {
                    inside = true;
                    stack.clear();
                }
            }
        }
    }
    // Paths are recorded relative to `encoding`; prefix it so lookups read naturally.
    Ok(out
        .into_iter()
        .map(|(p, t)| (std::iter::once("encoding".to_string()).chain(p).collect(), t))
        .collect())
}

/// `ns:name attr="…"` → `name`.
fn local_name(tag: &str) -> &str {
    let name = tag.split(|c: char| c.is_whitespace()).next().unwrap_or("");
    name.rsplit(':').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fastmri_like_header() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
<!-- <encoding><encodedSpace><matrixSize><x>1</x></matrixSize></encodedSpace></encoding> -->
<encoding><trajectory>cartesian</trajectory>
<encodedSpace><matrixSize><x>640</x><y>368</y><z>1</z></matrixSize>
<fieldOfView_mm><x>280</x><y>140</y><z>4.5</z></fieldOfView_mm></encodedSpace>
<reconSpace><matrixSize><x>320</x><y>320</y><z>1</z></matrixSize></reconSpace>
<encodingLimits><kspace_encoding_step_1><minimum>0</minimum><maximum>366</maximum>
<center>183</center></kspace_encoding_step_1></encodingLimits></encoding>
<encoding><encodedSpace><matrixSize><x>9</x><y>9</y><z>9</z></matrixSize></encodedSpace></encoding>
</ismrmrdHeader>"#;
        let h = parse_ismrmrd_header(xml).unwrap();
        assert_eq!(h.encoded, [640, 368, 1]);
        assert_eq!(h.recon, [320, 320, 1]);
        assert_eq!(h.pe_center, Some(183));
        assert_eq!(h.pe_max, Some(366));
    }

    #[test]
    fn namespaced_and_missing() {
        let xml = "<i:h><i:encoding><i:encodedSpace><i:matrixSize><i:x>4</i:x><i:y>5</i:y>\
                   <i:z>1</i:z></i:matrixSize></i:encodedSpace><i:reconSpace><i:matrixSize>\
                   <i:x>2</i:x><i:y>3</i:y><i:z>1</i:z></i:matrixSize></i:reconSpace></i:encoding></i:h>";
        let h = parse_ismrmrd_header(xml).unwrap();
        assert_eq!((h.encoded, h.recon, h.pe_center), ([4, 5, 1], [2, 3, 1], None));
        assert!(parse_ismrmrd_header("<a><encoding></encoding></a>").unwrap_err().contains("matrixSize"));
        assert!(parse_ismrmrd_header("<a><encoding><encodedSpace><matrixSize><x>z").is_err());
        let bad = xml.replace("<i:x>4</i:x>", "<i:x>four</i:x>");
        assert!(parse_ismrmrd_header(&bad).unwrap_err().contains("four"));
    }
}
