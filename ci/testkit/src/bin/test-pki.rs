//! `test-pki DIR SERIAL...`: a throw-away PKI for demos and tests (see
//! `osect_testkit::pki`). Never for production: keys are written in clear.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, serials) = args.split_first().ok_or("usage: test-pki DIR SERIAL...")?;
    let serials: Vec<&str> = serials.iter().map(String::as_str).collect();
    let f = osect_testkit::pki::make(std::path::Path::new(dir), &serials)?;
    println!("test PKI in {}", f.dir.display());
    Ok(())
}
