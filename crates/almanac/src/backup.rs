//! `almanac backup FILE` and `almanac restore FILE`, with a progress bar.

use almanac_store::{Progress, Store};
use anyhow::{Context, Result};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

fn progress_bar() -> (ProgressBar, impl FnMut(Progress)) {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({eta} left)")
            .expect("the template is valid"),
    );
    let handle = bar.clone();
    let tick = move |p: Progress| match p {
        Progress::Total(n) => handle.set_length(n),
        Progress::Row => handle.inc(1),
    };
    (bar, tick)
}

pub async fn backup(store: &Store, path: &Path) -> Result<()> {
    // Write next to the target and rename at the end, so a failed backup
    // never leaves a half file under the real name.
    let partial = path.with_extension("partial");
    let file =
        File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let mut out = GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
    let (bar, tick) = progress_bar();
    let summary = store.backup(&mut out, tick).await?;
    out.finish()?.flush()?;
    std::fs::rename(&partial, path)?;
    bar.finish_and_clear();
    println!(
        "Backed up {} rows (schema version {}) to {}.",
        summary.total_rows(),
        summary.schema_version,
        path.display()
    );
    Ok(())
}

pub async fn restore(store: &Store, path: &Path) -> Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let input = BufReader::new(GzDecoder::new(BufReader::new(file)));
    let (bar, tick) = progress_bar();
    let summary = store.restore(input, tick).await?;
    bar.finish_and_clear();
    println!(
        "Restored {} rows from {}.",
        summary.total_rows(),
        path.display()
    );
    for (table, rows) in &summary.rows {
        println!("  {table}: {rows}");
    }
    Ok(())
}
