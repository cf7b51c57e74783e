//! Train FDEN on labelled latents, split them into identity and style,
//! score few-shot accuracy on classes the model never saw, save and load.
//!
//!     cargo run --offline --example quickstart
//!
//! The latents stand for a host encoder's: each class has a centre (its
//! identity) and every row adds a random mix of three style directions.

use fden::{fewshot_eval, Config, Dataset, DisentanglerKind, FewShotOptions, Model, Param, Sampler, Status};

const DIM: usize = 16;
const CLASSES: usize = 16; // 12 to train on, 4 unseen
const PER: usize = 30;

fn latents() -> (Vec<f32>, Vec<i32>) {
    let mut s = 1u64;
    let mut noise = move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    };
    let centres: Vec<f32> = (0..CLASSES * DIM).map(|_| 6.0 * noise()).collect();
    let styles: Vec<f32> = (0..3 * DIM).map(|_| 12.0 * noise()).collect();
    let (mut z, mut y) = (Vec::new(), Vec::new());
    for c in 0..CLASSES {
        for _ in 0..PER {
            let mix = [noise(), noise(), noise()];
            z.extend((0..DIM).map(|j| {
                centres[c * DIM + j] + (0..3).map(|k| mix[k] * styles[k * DIM + j]).sum::<f32>()
            }));
            y.push(c as i32);
        }
    }
    (z, y)
}

fn main() -> fden::Result<()> {
    let (z, y) = latents();
    let all = Dataset::from_slices(&z, &y, DIM)?;
    let (train, test) = all.split(12)?; // classes < 12 train, the rest are unseen

    // Typed setters: integers for widths and counts, enums for kinds.
    let mut cfg = Config::new()?;
    cfg.set_int(Param::Dim, DIM as i64)?
        .set_enum(DisentanglerKind::Flow)?
        .set_int(Param::FlowLayers, 4)?
        .set_int(Param::FlowWidth, 32)?
        .set_int(Param::StatWidth1, 64)?
        .set_int(Param::StatWidth2, 32)?
        .set_int(Param::StatWidth3, 16)?
        .set_int(Param::Seed, 1)?
        .set(Param::Lr, 1e-3)?;
    let mut model = Model::new(&cfg)?;
    model.fit_standardization(train.data())?; // per-dimension mean and std of the training latents

    let mut sampler = Sampler::new(&train, 5, 1, 3, 2)?; // 5-way 1-shot, 3 queries
    for _ in 0..300 {
        let batch = sampler.next_batch(8)?;
        let st = model.train_step(&batch.episodes())?;
        if st.step % 100 == 0 {
            println!("step {}: loss {:.3}, query accuracy {:.2}", st.step, st.loss, st.accuracy);
        }
    }

    // Identity and style of the unseen classes; E is D's exact inverse.
    let (f_ide, f_sty) = model.disentangle(test.data())?;
    let back = model.entangle(&f_ide, &f_sty)?;
    let err = back.iter().zip(test.data()).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    println!("f_ide {} wide, f_sty {} wide; max |E(D(z)) - z| = {err:.2e}", model.ide_dim(), model.sty_dim());
    assert!(err < 1e-3);

    // Few-shot accuracy: the same seeded 4-way 1-shot episodes on z and on f_ide.
    let opt = FewShotOptions { ways: 4, shots: 1, queries: 10, episodes: 500, ..Default::default() };
    let raw = fewshot_eval(test.data(), test.labels(), DIM, &opt)?;
    let ide = fewshot_eval(&f_ide, test.labels(), model.ide_dim(), &opt)?;
    println!("4-way 1-shot on unseen classes: z {:.3} +- {:.3}, f_ide {:.3} +- {:.3}",
             raw.mean, raw.ci95, ide.mean, ide.ci95);
    assert!(ide.mean > 0.5, "f_ide keeps the classes apart (chance 0.25)");

    // Save and load: the loaded model gives the same bits.
    let path = std::env::temp_dir().join(format!("fden-quickstart-{}.fden", std::process::id()));
    model.save(&path)?;
    let loaded = Model::load(&path)?;
    std::fs::remove_file(&path).ok();
    assert_eq!(loaded.disentangle(test.data())?, (f_ide, f_sty));

    // Errors carry a Status to match on and the library's detail.
    match cfg.set(Param::FlowLayers, 2.5) {
        Err(e) if e.status == Status::Invalid => println!("refused: {e}"),
        other => panic!("2.5 layers accepted: {other:?}"),
    }
    match Model::load("/no/such/model.fden") {
        Err(e) => {
            assert_eq!(e.status, Status::Io);
            println!("refused: {e}");
        }
        Ok(_) => panic!("loaded a missing file"),
    }
    Ok(())
}
