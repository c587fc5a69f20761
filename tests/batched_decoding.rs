//! Multi-sequence decoding on the real test model (SmolLM2-135M): a pass
//! over several sequences gives each exactly the logits it gets alone, and
//! workers generating at the same time share passes without changing a
//! single token.

mod common;

use std::sync::Barrier;

use candle_core::{Device, Tensor};
use kurz::generate::{generate, GenerateOptions, Generation};
use kurz::model::{Message, Model, SequenceStep};

fn load() -> Model {
    Model::load(&common::test_model(), &Device::Cpu).unwrap()
}

fn prompt(model: &Model, text: &str) -> Vec<u32> {
    model
        .chat_tokens(&[Message::user(format!(
            "Summarize in English in two sentences:\n\n{text}"
        ))])
        .unwrap()
}

const ARTICLES: [&str; 3] = [
    "Nach tagelangem Dauerregen hat die Mulde in Grimma ihren Höchststand erreicht. \
     Rund 2.300 Menschen mussten ihre Wohnungen verlassen.",
    "Die Lokführergewerkschaft GDL hat zu einem 48-stündigen Streik aufgerufen. \
     Betroffen sind der Personen- und der Güterverkehr.",
    "Der Gemeinderat hat den Haushalt für das kommende Jahr beschlossen.",
];

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec1::<f32>()
        .unwrap()
        .into_iter()
        .map(f32::to_bits)
        .collect()
}

#[test]
fn a_pass_over_several_sequences_equals_each_alone() {
    let model = load();
    let transformer = model.transformer();
    let prompts: Vec<Vec<u32>> = ARTICLES.iter().map(|a| prompt(&model, a)).collect();

    // Alone: prompt, then three single-token steps.
    let next = [[11u32, 12, 13], [21, 22, 23], [31, 32, 33]];
    let mut alone = Vec::new();
    for (p, steps) in prompts.iter().zip(&next) {
        let mut cache = transformer.new_cache();
        let mut logits = vec![bits(&transformer.forward(p, &mut cache).unwrap())];
        for &t in steps {
            logits.push(bits(&transformer.forward(&[t], &mut cache).unwrap()));
        }
        alone.push(logits);
    }

    // Together: the three prompts (different lengths) in one pass, then the
    // steps of all three in one pass each.
    let mut caches: Vec<_> = prompts.iter().map(|_| transformer.new_cache()).collect();
    let mut together: Vec<Vec<Vec<u32>>> = vec![Vec::new(); prompts.len()];
    let mut pass = |tokens: Vec<&[u32]>, caches: &mut [kurz::model::KvCache]| {
        let mut steps: Vec<SequenceStep<'_>> = tokens
            .into_iter()
            .zip(caches.iter_mut())
            .map(|(tokens, cache)| SequenceStep { tokens, cache })
            .collect();
        let logits = transformer.forward_many(&mut steps).unwrap();
        for (i, l) in logits.iter().enumerate() {
            together[i].push(bits(l));
        }
    };
    pass(prompts.iter().map(Vec::as_slice).collect(), &mut caches);
    for k in 0..3 {
        pass(next.iter().map(|s| &s[k..k + 1]).collect(), &mut caches);
    }
    assert_eq!(alone, together);
    for (cache, p) in caches.iter().zip(&prompts) {
        assert_eq!(cache.len(), p.len() + 3);
    }
}

#[test]
fn forward_many_rejects_an_empty_step_and_a_foreign_cache() {
    let model = load();
    let transformer = model.transformer();
    let mut cache = transformer.new_cache();
    let err = transformer
        .forward_many(&mut [SequenceStep {
            tokens: &[],
            cache: &mut cache,
        }])
        .unwrap_err();
    assert!(err.to_string().contains("no tokens"), "{err}");
    let mut foreign = kurz::model::KvCache::default();
    let err = transformer
        .forward_many(&mut [SequenceStep {
            tokens: &[1],
            cache: &mut foreign,
        }])
        .unwrap_err();
    assert!(err.to_string().contains("another model"), "{err}");
}

fn run(model: &Model, prompt: &[u32]) -> Generation {
    let mut cache = model.transformer().new_cache();
    let options = GenerateOptions {
        max_new_tokens: 24,
        ..GenerateOptions::default()
    };
    generate(model, &mut cache, prompt, &options).unwrap()
}

#[test]
fn concurrent_workers_share_decode_passes_and_get_their_own_tokens() {
    let model = load();
    let prompts: Vec<Vec<u32>> = ARTICLES.iter().map(|a| prompt(&model, a)).collect();
    let sequential: Vec<Vec<u32>> = prompts.iter().map(|p| run(&model, p).tokens).collect();
    let before = model.batching_stats();
    assert_eq!(
        before.passes, before.steps,
        "one worker at a time: every pass holds one step"
    );

    // Start all three at once, several times over (timing varies who
    // decodes beside whom; the tokens must not).
    for _ in 0..3 {
        let start = Barrier::new(prompts.len());
        let concurrent: Vec<Vec<u32>> = std::thread::scope(|scope| {
            let handles: Vec<_> = prompts
                .iter()
                .map(|p| {
                    let (model, start) = (&model, &start);
                    scope.spawn(move || {
                        start.wait();
                        run(model, p).tokens
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(concurrent, sequential);
    }
    let after = model.batching_stats();
    let (passes, steps) = (after.passes - before.passes, after.steps - before.steps);
    assert!(
        passes < steps,
        "concurrent decoding never shared a pass ({passes} passes for {steps} steps)"
    );
}

/// A pass where every sequence brings one token runs the decode path (plain
/// row buffers between the products); a pass that also holds a prompt part
/// runs the general one (Candle's tensor ops). Sequence A's decode steps,
/// taken alone and then each beside a part of B's prompt, must give the
/// same bits either way.
fn decode_path_matches_the_general_path(model: &Model) {
    let transformer = model.transformer();
    let a = prompt(model, ARTICLES[0]);
    let b = prompt(model, ARTICLES[1]);
    let next = [11u32, 12, 13];

    let mut cache = transformer.new_cache();
    transformer.forward(&a, &mut cache).unwrap();
    let alone: Vec<Vec<u32>> = next
        .iter()
        .map(|&t| bits(&transformer.forward(&[t], &mut cache).unwrap()))
        .collect();

    let mut cache_a = transformer.new_cache();
    transformer.forward(&a, &mut cache_a).unwrap();
    let mut cache_b = transformer.new_cache();
    assert!(b.len() >= 3 * 4, "prompt B too short: {}", b.len());
    let beside: Vec<Vec<u32>> = next
        .iter()
        .zip(b.chunks_exact(4))
        .map(|(&t, part)| {
            let logits = transformer
                .forward_many(&mut [
                    SequenceStep {
                        tokens: &[t],
                        cache: &mut cache_a,
                    },
                    SequenceStep {
                        tokens: part,
                        cache: &mut cache_b,
                    },
                ])
                .unwrap();
            bits(&logits[0])
        })
        .collect();
    assert_eq!(alone.len(), beside.len());
    for (step, (alone, beside)) in alone.iter().zip(&beside).enumerate() {
        assert!(
            alone == beside,
            "decode step {step} differs between the paths"
        );
    }
    assert_eq!(cache_a.len(), a.len() + next.len());
    assert_eq!(cache_b.len(), 3 * 4);
}

#[test]
fn decode_path_matches_the_general_path_on_smollm2() {
    decode_path_matches_the_general_path(&load());
}

#[test]
fn decode_path_matches_the_general_path_on_qwen2() {
    let model = Model::load(&common::qwen_model(), &Device::Cpu).unwrap();
    decode_path_matches_the_general_path(&model);
}

/// Candidates of one prompt, decoded together from one prompt pass, are
/// each exactly the generation their sampling gives alone; a concurrent
/// worker beside them changes nothing, and they share passes.
#[test]
fn candidates_decoded_together_equal_each_generated_alone() {
    use kurz::generate::{generate_candidates, Sampling};
    use kurz::task::candidates::CandidateOptions;

    let model = load();
    let p = prompt(&model, ARTICLES[0]);
    let options = GenerateOptions {
        max_new_tokens: 24,
        ..GenerateOptions::default()
    };
    let samplings = CandidateOptions::default().samplings(Sampling::greedy());
    assert_eq!(samplings.len(), 4);
    let alone: Vec<Vec<u32>> = samplings
        .iter()
        .map(|s| {
            let mut cache = model.transformer().new_cache();
            let one = GenerateOptions {
                sampling: *s,
                ..options.clone()
            };
            generate(&model, &mut cache, &p, &one).unwrap().tokens
        })
        .collect();
    // Sampled candidates differ from the greedy one (the test would
    // prove nothing if all were equal).
    assert!(alone[1..].iter().any(|t| *t != alone[0]), "{alone:?}");

    let before = model.batching_stats();
    let mut cache = model.transformer().new_cache();
    let together = generate_candidates(&model, &mut cache, &p, &options, &samplings).unwrap();
    let tokens: Vec<Vec<u32>> = together.iter().map(|g| g.tokens.clone()).collect();
    assert_eq!(tokens, alone);
    let after = model.batching_stats();
    let (passes, steps) = (after.passes - before.passes, after.steps - before.steps);
    assert!(
        passes * 2 < steps,
        "candidates did not share passes ({passes} passes for {steps} steps)"
    );
    // Prompt timing and token counts are carried once.
    assert!(together[0].prefill_seconds > 0.0);
    assert!(together[1..].iter().all(|g| g.prefill_seconds == 0.0));

    // Beside another worker generating at the same time: the same tokens.
    let other = prompt(&model, ARTICLES[1]);
    let expected_other = run(&model, &other).tokens;
    let start = Barrier::new(2);
    let (beside, other_tokens) = std::thread::scope(|scope| {
        let a = scope.spawn(|| {
            start.wait();
            let mut cache = model.transformer().new_cache();
            generate_candidates(&model, &mut cache, &p, &options, &samplings)
                .unwrap()
                .into_iter()
                .map(|g| g.tokens)
                .collect::<Vec<_>>()
        });
        let b = scope.spawn(|| {
            start.wait();
            run(&model, &other).tokens
        });
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(beside, alone);
    assert_eq!(other_tokens, expected_other);
}
