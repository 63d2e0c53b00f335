//! The few numbers recon needs from an ISMRMRD XML header, read with `quick-xml` (a pull
//! parser: well-formedness, comments, CDATA, character and predefined entity references,
//! attributes with `>` in their values are its business). Element paths are matched on
//! local names, so namespace prefixes, declared or not, do not matter.

use super::HeaderInfo;
use quick_xml::events::Event;

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
/// The text of an element is all its text and CDATA (entity references resolved), trimmed.
fn collect(xml: &str) -> Result<Vec<(Vec<String>, String)>, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out: Vec<(Vec<String>, String)> = Vec::new();
    // Open elements (local names) below the first `encoding` element, once inside it.
    let mut stack: Vec<String> = Vec::new();
    let mut inside = false;
    let mut text = String::new();
    let bad = |e: &dyn std::fmt::Display| format!("ismrmrd_header: not well-formed XML: {e}");
    loop {
        match reader.read_event().map_err(|e| bad(&e))? {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                if inside {
                    stack.push(name);
                } else if name == "encoding" {
                    inside = true;
                }
                text.clear();
            }
            Event::End(_) if inside => {
                if stack.is_empty() {
                    // The first `encoding` element closes: nothing more to read.
                    break;
                }
                let t = text.trim();
                if !t.is_empty() {
                    out.push((stack.clone(), t.to_string()));
                }
                text.clear();
                stack.pop();
            }
            Event::Text(t) if inside => text.push_str(&t.xml10_content()),
            Event::CData(t) if inside => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if inside => match r.resolve_char_ref().map_err(|e| bad(&e))? {
                Some(c) => text.push(c),
                None => {
                    let name = r.xml10_content();
                    let v = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("ismrmrd_header: unknown entity &{name};"))?;
                    text.push_str(v);
                }
            },
            Event::Eof if inside => return Err("ismrmrd_header: unterminated <encoding> element".into()),
            Event::Eof => break,
            _ => {}
        }
    }
    // Paths are recorded relative to `encoding`; prefix it so lookups read naturally.
    Ok(out
        .into_iter()
        .map(|(p, t)| (std::iter::once("encoding".to_string()).chain(p).collect(), t))
        .collect())
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

    /// What the old hand-written tag walk got wrong: a CDATA value (skipped: "no <x>"),
    /// character and entity references (left as text: "not a whole number"), a comment
    /// inside a value (cut it in two), mismatched tags (accepted).
    #[test]
    fn cdata_references_comments_attributes_and_well_formedness() {
        let xml = r#"<?xml version="1.0"?>
<!DOCTYPE ismrmrdHeader>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD" xmlns:x="urn:other">
<!-- <encoding><encodedSpace><matrixSize><x>1</x></matrixSize></encodedSpace></encoding> -->
<encoding note="a > b &amp; 'c'"><encodedSpace><matrixSize>
<x><![CDATA[640]]></x><y>&#51;6<!-- a comment -->8</y><x:z>1</x:z></matrixSize></encodedSpace>
<reconSpace><matrixSize><x>3&#x32;0</x><y> 320 </y><z>1</z></matrixSize></reconSpace>
<encodingLimits><kspace_encoding_step_1><maximum>366</maximum><center>183</center>
</kspace_encoding_step_1></encodingLimits></encoding></ismrmrdHeader>"#;
        let h = parse_ismrmrd_header(xml).unwrap();
        assert_eq!((h.encoded, h.recon), ([640, 368, 1], [320, 320, 1]));
        assert_eq!((h.pe_center, h.pe_max), (Some(183), Some(366)));
        let crossed = xml.replace("</matrixSize></encodedSpace>", "</encodedSpace></matrixSize>");
        assert!(parse_ismrmrd_header(&crossed).unwrap_err().contains("well-formed"));
        let entity =
            xml.replace("<z>1</z></matrixSize></reconSpace>", "<z>&unknown;</z></matrixSize></reconSpace>");
        assert!(parse_ismrmrd_header(&entity).unwrap_err().contains("unknown"));
    }
}
