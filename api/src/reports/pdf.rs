//! A plain A4 PDF of headings, tables and bar charts in the standard Helvetica font (no font
//! file to ship), written with `lopdf`, the crate that already checks uploaded PDFs.

use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, Stream};

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;

/// One page being laid out from the top down.
pub struct Page {
    ops: Vec<Operation>,
    y: f32,
}

/// What the standard fonts can show: printable ASCII (anything else becomes `?`).
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c,
            '\u{2014}' | '\u{2013}' => '-',
            _ => '?',
        })
        .collect()
}

impl Page {
    pub fn new(title: &str) -> Self {
        let mut page = Self {
            ops: Vec::new(),
            y: HEIGHT - MARGIN,
        };
        page.text(MARGIN, page.y, "F2", 16.0, title);
        page.y -= 28.0;
        page
    }

    fn text(&mut self, x: f32, y: f32, font: &str, size: f32, text: &str) {
        self.ops.extend([
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec![font.into(), size.into()]),
            Operation::new("Td", vec![x.into(), y.into()]),
            Operation::new("Tj", vec![Object::string_literal(plain(text))]),
            Operation::new("ET", vec![]),
        ]);
    }

    /// Room for `lines` more lines of text?
    pub fn fits(&self, lines: usize) -> bool {
        self.y - lines as f32 * 14.0 > MARGIN
    }

    pub fn heading(&mut self, text: &str) {
        self.y -= 8.0;
        self.text(MARGIN, self.y, "F2", 12.0, text);
        self.y -= 18.0;
    }

    pub fn line(&mut self, text: &str) {
        self.text(MARGIN, self.y, "F1", 10.0, text);
        self.y -= 14.0;
    }

    /// Rows of cells at the given column offsets.
    pub fn table(&mut self, columns: &[f32], header: &[&str], rows: &[Vec<String>]) {
        for (x, h) in columns.iter().zip(header) {
            self.text(MARGIN + x, self.y, "F2", 9.0, h);
        }
        self.y -= 13.0;
        for row in rows {
            if !self.fits(1) {
                break;
            }
            for (x, cell) in columns.iter().zip(row) {
                self.text(MARGIN + x, self.y, "F1", 9.0, cell);
            }
            self.y -= 12.0;
        }
        self.y -= 4.0;
    }

    /// A horizontal bar per item, scaled to the largest.
    pub fn bars(&mut self, items: &[(String, f64)]) {
        let most = items.iter().map(|i| i.1).fold(0.0_f64, f64::max);
        let room = WIDTH - 2.0 * MARGIN - 190.0;
        for (label, value) in items {
            if !self.fits(1) {
                break;
            }
            self.text(MARGIN, self.y, "F1", 9.0, label);
            let width = if most > 0.0 {
                (value / most) as f32 * room
            } else {
                0.0
            };
            self.ops.extend([
                Operation::new("rg", vec![0.2.into(), 0.4.into(), 0.7.into()]),
                Operation::new(
                    "re",
                    vec![
                        (MARGIN + 140.0).into(),
                        (self.y - 2.0).into(),
                        width.max(0.5).into(),
                        9.0.into(),
                    ],
                ),
                Operation::new("f", vec![]),
                Operation::new("rg", vec![0.into(), 0.into(), 0.into()]),
            ]);
            let shown = if value.fract() == 0.0 {
                format!("{value:.0}")
            } else {
                format!("{value:.2}")
            };
            self.text(MARGIN + 146.0 + width, self.y, "F1", 9.0, &shown);
            self.y -= 13.0;
        }
        self.y -= 4.0;
    }
}

/// The document of `pages`, titled `title`.
pub fn document(title: &str, pages: Vec<Page>) -> Result<Vec<u8>, String> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let regular = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let bold = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica-Bold",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => regular, "F2" => bold },
    });
    let count = pages.len();
    let mut kids = Vec::new();
    for (n, mut page) in pages.into_iter().enumerate() {
        page.text(
            MARGIN,
            MARGIN - 20.0,
            "F1",
            8.0,
            &format!("{title} - page {} of {count}", n + 1),
        );
        let content = Content {
            operations: page.ops,
        };
        let stream = doc.add_object(Stream::new(
            dictionary! {},
            content.encode().map_err(|e| e.to_string())?,
        ));
        let id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => stream,
        });
        kids.push(Object::from(id));
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count as i64,
            "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), WIDTH.into(), HEIGHT.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    let info = doc.add_object(dictionary! {
        "Title" => Object::string_literal(plain(title)),
        "Producer" => Object::string_literal("Broker CRM"),
    });
    doc.trailer.set("Root", catalog);
    doc.trailer.set("Info", info);
    doc.compress();
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_reads_back_with_its_pages_and_words() {
        let mut first = Page::new("KYC");
        first.line("Cases by state");
        first.table(
            &[0.0, 200.0],
            &["state", "cases"],
            &[vec!["verified".into(), "31".into()]],
        );
        first.bars(&[("verified".into(), 31.0), ("pending".into(), 4.0)]);
        let second = Page::new("Sales funnel \u{2014} Nov");
        let bytes = document("Compliance pack 2026-11", vec![first, second]).unwrap();
        let doc = Document::load_mem(&bytes).unwrap();
        assert_eq!(doc.get_pages().len(), 2);
        let text = doc.extract_text(&[1, 2]).unwrap();
        for word in ["KYC", "verified", "31", "Sales funnel - Nov", "page 2 of 2"] {
            assert!(text.contains(word), "{word} in {text}");
        }
    }
}
