//! Command-line interface definitions (clap derive).

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand, ValueEnum};

use kurz::output::Format;
use kurz::task::prompt::PromptStyle;

/// Summarize and translate German articles into English, offline, with a
/// local GGUF model.
///
/// kurz walks files and folders (.txt, .md, .html, .pdf, .docx, .odt, .eml,
/// RSS/Atom/JSON feeds), writes one English result per input under the
/// output directory (mirroring the input tree below the folder the inputs
/// share) and a machine-readable manifest (manifest.jsonl). Reruns skip
/// inputs that are already done.
#[derive(Debug, Parser)]
#[command(name = "kurz", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Summarize German articles into short English summaries.
    ///
    /// Exit status: 0 when every input is ok or skipped, 2 when some inputs
    /// failed (see the manifest's error entries), 1 when nothing could run
    /// (invalid arguments included), 130 / 143 when interrupted by SIGINT
    /// (Ctrl-C) / SIGTERM; a second signal ends kurz at once.
    Summarize(SummarizeArgs),
    /// Translate German briefs and articles into English, in full.
    ///
    /// Every paragraph is translated on its own, so the structure is kept
    /// and nothing is dropped; results go to kurz-translations/ unless
    /// --output says otherwise. Exit status as for `summarize`.
    Translate(TranslateArgs),
    /// List, fetch, verify and locate model weights.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Measure quality: translation metrics, summary metrics, WMT runs.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Measure speed: model load time, prompt processing and generation
    /// rates on the summary prompts of given articles (see bench/README.md).
    ///
    /// Loads the model once, then for each article builds the prompt
    /// `kurz summarize` sends for the whole article and generates greedily
    /// until an end-of-turn token or the cap. With --dump-prompts it only
    /// writes the prompt token ids (for running the same prompts elsewhere).
    Bench(BenchArgs),
    /// One digest of a run from its output folder's manifest: per input
    /// the title, source (path, or link for feed items and e-mails), date,
    /// summary, guard verdict and errors; Markdown on stdout unless
    /// --format or -o say otherwise.
    ///
    /// Reads OUT/manifest.jsonl, any other OUT/manifest*.jsonl and the
    /// manifest parts of sharded runs (OUT/.kurz-shards/*.jsonl), keeping
    /// each input's latest outcome. Exit status 1 when OUT holds no
    /// manifest; unreadable manifest lines are skipped with a warning.
    Report(ReportArgs),
    /// Join the manifest parts of a sharded run (--shard) into one
    /// manifest.jsonl: one current row per input, in the order an unsharded
    /// run gives; says which inputs no shard has finished and which shards
    /// never ran. Once all is done it removes the parts (.kurz-shards/), so
    /// the folder is as an unsharded run leaves it. Idempotent.
    ///
    /// Exit status: 0 when complete, 2 when inputs failed, are unfinished or
    /// shards never ran, 1 when it cannot run (a shard still running).
    Merge(MergeArgs),
    /// Done / failed / remaining per shard and in total, articles per hour
    /// and time left, while shards run; reads, never writes.
    Status(MergeArgs),
    /// Run summarize or translate as a Slurm job array of --shards tasks:
    /// pulls the model into the cache once, writes an sbatch script into
    /// <OUTPUT>/.kurz-slurm/ and submits it with sbatch (tasks run
    /// `--shard auto/N --offline`). Then `kurz status` and `kurz merge`.
    #[command(subcommand)]
    Slurm(SlurmCommand),
}

/// Options of `kurz merge` and `kurz status`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The output folder of the (sharded) run.
    #[arg(value_name = "OUTPUT")]
    pub output: PathBuf,
}

/// `kurz slurm summarize|translate`.
#[derive(Debug, Subcommand)]
pub enum SlurmCommand {
    /// `kurz summarize` as a Slurm job array.
    Summarize {
        #[command(flatten)]
        args: SummarizeArgs,
        #[command(flatten)]
        slurm: SlurmArgs,
    },
    /// `kurz translate` as a Slurm job array.
    Translate {
        #[command(flatten)]
        args: TranslateArgs,
        #[command(flatten)]
        slurm: SlurmArgs,
    },
}

/// How `kurz slurm` submits.
#[derive(Debug, Args)]
pub struct SlurmArgs {
    /// Array tasks (shards) to split the inputs into.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub shards: u32,
    /// CPUs of each task (sbatch --cpus-per-task); kurz uses that many
    /// threads (SLURM_CPUS_PER_TASK).
    #[arg(long, value_name = "C", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub cpus_per_task: Option<u32>,
    /// Slurm partition (sbatch --partition).
    #[arg(long, value_name = "P", value_parser = parse_sbatch_value)]
    pub partition: Option<String>,
    /// Time limit of each task (sbatch --time, e.g. 2:00:00).
    #[arg(long, value_name = "T", value_parser = parse_sbatch_value)]
    pub time: Option<String>,
    /// Generic resources of each task (sbatch --gres, e.g. gpu:1).
    #[arg(long, value_name = "G", value_parser = parse_sbatch_value)]
    pub gres: Option<String>,
    /// Print the sbatch script; write, pull and submit nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// A value for an `#SBATCH` line: letters, digits and `_.:,=+-/@%`, so it
/// cannot break out of its line.
fn parse_sbatch_value(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 200
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:,=+-/@%".contains(&b));
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{}` is not a Slurm value (letters, digits and _.:,=+-/@% only)",
            text.escape_debug()
        ))
    }
}

/// Options of `kurz report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The output folder of a `kurz summarize` or `kurz translate` run.
    #[arg(value_name = "OUT")]
    pub folder: PathBuf,

    /// Format of the digest: md (Markdown), csv (one row per input, for
    /// spreadsheets) or html (one self-contained page).
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Md)]
    pub format: ReportFormatArg,

    /// Write the digest to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Order of the inputs: by source path, or newest first by the
    /// article's date (undated ones last, by path).
    #[arg(long, value_enum, default_value_t = ReportSortArg::Path)]
    pub sort: ReportSortArg,

    /// Start the CSV with a UTF-8 byte order mark (for Excel); CSV only.
    #[arg(long)]
    pub bom: bool,
}

/// The formats of `kurz report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    /// Markdown.
    Md,
    /// Comma-separated values (RFC 4180, UTF-8).
    Csv,
    /// One self-contained HTML page.
    Html,
}

/// The orders of `kurz report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportSortArg {
    /// By source path.
    Path,
    /// Newest first by the article's date.
    Date,
}

/// Options of `kurz bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Articles (files or folders, as for `summarize`).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub model: ModelArgs,

    /// Threads per matrix product (sets CANDLE_NUM_THREADS and
    /// RAYON_NUM_THREADS) [default: CANDLE_NUM_THREADS, else every logical
    /// core].
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: Option<u64>,

    /// Most tokens generated per article [default: 128].
    #[arg(long, value_name = "N", conflicts_with = "summary_budget", value_parser = usize_in::<1, 1_048_576>)]
    pub max_new_tokens: Option<usize>,

    /// Cap generation where `kurz summarize --max-words W` does instead of
    /// at --max-new-tokens.
    #[arg(long)]
    pub summary_budget: bool,

    /// The summary length asked for in the prompt, as `summarize --max-words`.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(10..=1000))]
    pub max_words: u64,

    /// Token budget of one call, as `summarize --context`; articles whose
    /// prompt and answer exceed it are marked `"fits": false` (summarize
    /// would split them) [default: the model's context, capped at 4096].
    #[arg(long, value_name = "TOKENS", value_parser = clap::value_parser!(u64).range(256..=1_048_576))]
    pub context: Option<u64>,

    /// Print one JSON object on stdout instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Only write each article's prompt token ids to this file, one JSON
    /// line per article: {"file", "prompt_tokens", "max_new_tokens",
    /// "stop_tokens", "fits"}; generate nothing.
    #[arg(long, value_name = "FILE")]
    pub dump_prompts: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// chrF2 and BLEU (sacrebleu-compatible) of a translation against a
    /// reference, one segment per line.
    Translation {
        /// The system output, one segment per line.
        #[arg(long, value_name = "FILE")]
        hyp: PathBuf,
        /// The reference translation, one segment per line.
        #[arg(long = "ref", value_name = "FILE")]
        reference: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// ROUGE-1/2/L F1 (rouge-score compatible, with stemming) of summaries
    /// against reference summaries, and faithfulness figures: names and
    /// numbers in the summaries that their source articles do not contain.
    Summaries {
        /// An output folder of `kurz summarize` (with its manifest.jsonl).
        #[arg(long, value_name = "DIR")]
        summaries: PathBuf,
        /// Reference summaries mirroring the inputs: for input `a/b.txt` the
        /// file `<DIR>/a/b.txt` (or .md, .en.txt, .en.md). Without it only
        /// faithfulness is reported.
        #[arg(long, value_name = "DIR")]
        refs: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Translate a test set's source lines with a model and score the result
    /// (chrF2, BLEU) beside any hyp.*.en files next to the reference.
    Wmt {
        /// Source segments, one per line (e.g. ../shared/data/wmt22-de-en/src.de).
        #[arg(long, value_name = "FILE")]
        src: PathBuf,
        /// Reference translation, one segment per line.
        #[arg(long = "ref", value_name = "FILE")]
        reference: PathBuf,
        /// Use only the first N lines.
        #[arg(long, value_name = "N", value_parser = usize_in::<1, { usize::MAX }>)]
        limit: Option<usize>,
        /// Also write the translations here, one per line.
        #[arg(long, value_name = "FILE")]
        save: Option<PathBuf>,
        /// Lines translated at once [default: 1].
        #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
        jobs: Option<u64>,
        /// Token budget of one model call.
        #[arg(long, value_name = "TOKENS", default_value_t = 1024, value_parser = usize_in::<256, 1_048_576>)]
        context: usize,
        /// Translations decoded together per line, chosen among by checks
        /// and consensus (as `kurz translate --candidates`); 1 is greedy only.
        #[arg(long, value_name = "N", default_value_t = kurz::task::candidates::DEFAULT_TRANSLATION_CANDIDATES, value_parser = usize_in::<1, 16>)]
        candidates: usize,
        /// Temperature of the sampled candidates.
        #[arg(long, hide = true, value_name = "T", default_value_t = 0.7, value_parser = parse_temperature)]
        candidate_temperature: f64,
        /// Translate the lines in order as one document, each with the
        /// previous line and its translation as context (as `kurz translate
        /// --with-context`; one worker, whatever --jobs says).
        #[arg(long)]
        with_context: bool,
        #[command(flatten)]
        model: ModelArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct SummarizeArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Upper bound on the length of each summary, in words (enforced: the
    /// summary is trimmed to its last complete sentence within the bound).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(10..=1000))]
    pub max_words: u64,

    /// Turn off the faithfulness guard (which checks every name and number
    /// of a summary against the article and regenerates when some are not
    /// in it).
    #[arg(long)]
    pub no_guard: bool,

    /// Extra generations the guard may make for one article.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=10))]
    pub guard_retries: u64,

    /// Treat a summary whose unsupported names/numbers the guard could not
    /// repair as an error (the summary file is still written).
    #[arg(long, conflicts_with = "no_guard")]
    pub strict: bool,

    /// Wording of the summary prompt (rules [default], paragraph,
    /// instructions-first, lead-facts); for comparing prompts, see
    /// src/task/prompt.rs.
    #[arg(long, hide = true, value_name = "STYLE", value_parser = PromptStyle::from_str)]
    pub prompt_style: Option<PromptStyle>,
}

#[derive(Debug, Args)]
pub struct TranslateArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Show the model the previous paragraph and its translation as context
    /// for each paragraph (paragraphs are then translated in order).
    #[arg(long)]
    pub with_context: bool,
}

/// Options shared by the commands that run a model over inputs.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Files or folders to process (folders recursively), or - for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Where results and manifest.jsonl go [default: kurz-out for
    /// summaries, kurz-translations for translations].
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub model: ModelArgs,

    /// Files processed at once; their model passes are shared [default: 1;
    /// 3 was about 1.1-1.25x faster on 2 cores, with more memory].
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
    pub jobs: Option<u64>,

    /// Format of the per-file output.
    #[arg(long, value_enum, default_value_t = FormatArg::Md)]
    pub format: FormatArg,

    /// Also print each result to stdout as it finishes.
    #[arg(long)]
    pub stdout: bool,

    /// Redo inputs that are already done.
    #[arg(long)]
    pub force: bool,

    /// Only process files matching this glob (gitignore syntax; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,

    /// Skip files matching this glob (gitignore syntax; repeatable). Hidden
    /// and .gitignore'd files are always skipped when walking folders.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Token budget of one model call (prompt + answer) [default: the
    /// model's context, capped at 4096]. Longer articles are summarized in
    /// chunks.
    #[arg(long, value_name = "TOKENS", value_parser = clap::value_parser!(u64).range(256..=1_048_576))]
    pub context: Option<u64>,

    /// Sampling temperature; 0 is greedy decoding (deterministic).
    #[arg(long, value_name = "T", default_value_t = 0.0, value_parser = parse_temperature)]
    pub temperature: f64,

    /// Nucleus sampling: sample only from the most likely tokens whose
    /// probabilities add up to P (with --temperature > 0).
    #[arg(long, value_name = "P", value_parser = parse_top_p)]
    pub top_p: Option<f64>,

    /// Random seed for sampling.
    #[arg(long, value_name = "S", default_value_t = 299_792_458)]
    pub seed: u64,

    /// Answers decoded together per model call (one prompt pass, one batch):
    /// the greedy answer plus N-1 sampled ones, chosen among by checks and
    /// consensus. With the guard on, a summary's first try is the greedy
    /// answer alone and the candidates come when it fails; 1 turns this off
    /// [default: 4 for summaries, 1 for translations].
    #[arg(long, value_name = "N", value_parser = usize_in::<1, 16>)]
    pub candidates: Option<usize>,

    /// Temperature of the sampled candidates (for comparing settings).
    #[arg(long, hide = true, value_name = "T", default_value_t = 0.7, value_parser = parse_temperature)]
    pub candidate_temperature: f64,

    /// Give up on one input after this many seconds, fractions allowed (it
    /// gets an error entry naming --timeout-per-file; the batch goes on)
    /// [default: no limit].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub timeout_per_file: Option<std::time::Duration>,

    /// Refuse inputs larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_bytes: u64,

    /// Only print errors and the final tally.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print details for every file (tokens, timings, warnings).
    #[arg(short, long)]
    pub verbose: bool,

    /// Process only shard K of N of the inputs (1-based, e.g. 2/8): an
    /// input's shard depends only on N and its path below the argument it
    /// was found under, so the N shards split the inputs between them
    /// wherever and whenever they run; each writes its own manifest part
    /// and `kurz merge` joins them. `auto` reads Slurm job arrays
    /// (SLURM_ARRAY_TASK_ID, _MIN, _COUNT) or Kubernetes Indexed Jobs
    /// (JOB_COMPLETION_INDEX with KURZ_SHARD_COUNT); `auto/N` takes N from
    /// here (Slurm array task ids then are the shard numbers 1..N).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,

    /// Results mirror the inputs relative to this folder [default: the
    /// deepest folder holding every PATH, or the root an earlier run of the
    /// output folder recorded, when it holds every PATH]. Pin it to keep
    /// outputs where they are when PATHs are added later.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// German→English glossary: a .tsv/.txt file (German<TAB>English per
    /// line, # comments) or a .toml file ("German" = "English"). The
    /// entries found in an article are given to the model, the guard
    /// accepts their English, and the manifest lists them with whether the
    /// output used the English. A bad glossary stops kurz before any work.
    #[arg(long, value_name = "FILE")]
    pub glossary: Option<PathBuf>,
}

/// Which model to use and where models are kept.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// A preset id (see `kurz models list`), a .gguf file, or a folder
    /// holding one [default: the default preset].
    #[arg(short, long, value_name = "MODEL", env = "KURZ_MODEL")]
    pub model: Option<String>,

    /// Never download; use only cached models (also HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,

    /// Model cache folder [default: $KURZ_HOME/models or the platform cache
    /// folder, e.g. ~/.cache/kurz/models].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Hash a cached preset's file again before using it, whatever its
    /// cache record says, and stop (exit status 1) when it does not match.
    #[arg(long)]
    pub verify_model: bool,

    /// Where the model runs: auto (a GPU when this build has the cuda or
    /// metal feature and one is present, else the CPU), cpu, cuda, cuda:N
    /// or metal. A GPU asked for by name is never replaced by the CPU.
    #[arg(
        long,
        value_name = "DEVICE",
        env = "KURZ_DEVICE",
        default_value = "auto"
    )]
    pub device: kurz::model::DeviceChoice,
}

/// A whole number between `MIN` and `MAX` (inclusive), for options whose
/// value is a `usize`.
fn usize_in<const MIN: usize, const MAX: usize>(text: &str) -> Result<usize, String> {
    let n: usize = text
        .trim()
        .parse()
        .map_err(|e| format!("`{text}` is not a whole number ({e})"))?;
    if (MIN..=MAX).contains(&n) {
        Ok(n)
    } else if MAX == usize::MAX {
        Err(format!("{n} is not in {MIN}.."))
    } else {
        Err(format!("{n} is not in {MIN}..={MAX}"))
    }
}

/// A sampling temperature: a number from 0 to 10.
fn parse_temperature(text: &str) -> Result<f64, String> {
    let t = parse_number(text)?;
    if (0.0..=10.0).contains(&t) {
        Ok(t)
    } else {
        Err(format!("{t} is not between 0 and 10"))
    }
}

/// A nucleus-sampling probability mass: more than 0, at most 1.
fn parse_top_p(text: &str) -> Result<f64, String> {
    let p = parse_number(text)?;
    if p > 0.0 && p <= 1.0 {
        Ok(p)
    } else {
        Err(format!("{p} is not in (0, 1]"))
    }
}

/// A time limit in seconds: a finite number above 0, at most a year.
fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    const YEAR: f64 = 365.0 * 24.0 * 3600.0;
    let secs = parse_number(text)?;
    if secs > 0.0 && secs <= YEAR {
        Ok(std::time::Duration::from_secs_f64(secs))
    } else {
        Err(format!(
            "{secs} is not a number of seconds above 0 (at most a year)"
        ))
    }
}

/// A finite number (NaN and infinities are refused).
fn parse_number(text: &str) -> Result<f64, String> {
    let x: f64 = text
        .trim()
        .parse()
        .map_err(|e| format!("`{text}` is not a number ({e})"))?;
    if x.is_finite() {
        Ok(x)
    } else {
        Err(format!("`{text}` is not a finite number"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Markdown: `# <title>` then the text.
    Md,
    /// Plain text: title line, blank line, text.
    Txt,
    /// One JSON object per file.
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Md => Format::Md,
            FormatArg::Txt => Format::Txt,
            FormatArg::Json => Format::Json,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List the model presets: id, size, architecture, cached?, where, use.
    List(CacheArgs),
    /// Fetch presets into the cache (if missing) and verify them.
    Pull {
        /// Preset ids [default: the default preset].
        ids: Vec<String>,
        /// Fetch again even when a verified copy is cached.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Re-hash cached files and report ok / missing / corrupt.
    Verify {
        /// Preset ids [default: all presets].
        ids: Vec<String>,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Print the local path of a preset's file (for scripts).
    Path {
        /// Preset id.
        id: String,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Remove a preset's file from kurz's cache.
    Rm {
        /// Preset id.
        id: String,
        #[command(flatten)]
        cache: CacheArgs,
    },
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Model cache folder [default: $KURZ_HOME/models or the platform cache
    /// folder, e.g. ~/.cache/kurz/models].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Never download (also HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("kurz").chain(args.iter().copied()))
    }

    fn rejected(args: &[&str]) -> ErrorKind {
        match parse(args) {
            Ok(cli) => panic!("{args:?} was accepted: {cli:?}"),
            Err(e) => e.kind(),
        }
    }

    fn summarize(args: &[&str]) -> SummarizeArgs {
        let mut all = vec!["summarize"];
        all.extend_from_slice(args);
        match parse(&all).expect("valid summarize arguments").command {
            Command::Summarize(a) => a,
            other => panic!("not summarize: {other:?}"),
        }
    }

    #[test]
    fn timeout_per_file_takes_fractions_of_seconds() {
        let r = summarize(&["a"]).run;
        assert_eq!(r.timeout_per_file, None);
        let r = summarize(&["a", "--timeout-per-file", "0.25"]).run;
        assert_eq!(
            r.timeout_per_file,
            Some(std::time::Duration::from_millis(250))
        );
        let r = summarize(&["a", "--timeout-per-file", "90"]).run;
        assert_eq!(r.timeout_per_file, Some(std::time::Duration::from_secs(90)));
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_and_version_are_not_errors() {
        for args in [
            &["--help"][..],
            &["-h"],
            &["summarize", "--help"],
            &["models", "help"],
        ] {
            let e = parse(args).expect_err("help is reported as an Err");
            assert_eq!(e.kind(), ErrorKind::DisplayHelp, "{args:?}");
            assert!(!e.use_stderr(), "{args:?}");
        }
        let e = parse(&["--version"]).expect_err("version");
        assert_eq!(e.kind(), ErrorKind::DisplayVersion);
        assert!(!e.use_stderr());
        // A missing subcommand is an error (exit status 1), not help.
        assert!(parse(&[]).expect_err("no subcommand").use_stderr());
    }

    #[test]
    fn summarize_defaults() {
        let a = summarize(&["article.txt"]);
        let r = &a.run;
        assert_eq!(r.paths, vec![PathBuf::from("article.txt")]);
        assert_eq!(r.output, None);
        assert_eq!(r.jobs, None);
        assert_eq!(r.format, FormatArg::Md);
        assert!(!r.stdout && !r.force && !r.quiet && !r.verbose);
        assert!(r.include.is_empty() && r.exclude.is_empty());
        assert_eq!(r.context, None);
        assert_eq!(r.temperature, 0.0);
        assert_eq!(r.top_p, None);
        assert_eq!(r.seed, 299_792_458);
        assert_eq!(r.max_bytes, 2 * 1024 * 1024);
        assert!(!r.model.offline && !r.model.verify_model);
        assert_eq!(r.model.cache_dir, None);
        assert_eq!(a.max_words, 60);
        assert!(!a.no_guard && !a.strict);
        assert_eq!(a.guard_retries, 2);
        assert_eq!(a.prompt_style, None);
    }

    #[test]
    fn summarize_options_are_read() {
        let a = summarize(&[
            "-",
            "dir",
            "-o",
            "out",
            "-m",
            "m.gguf",
            "--offline",
            "--cache-dir",
            "c",
            "--verify-model",
            "-j",
            "3",
            "--format",
            "json",
            "--stdout",
            "--force",
            "--include",
            "*.md",
            "--include",
            "*.txt",
            "--exclude",
            "x/",
            "--context",
            "2048",
            "--temperature",
            "0.7",
            "--top-p",
            "0.9",
            "--seed",
            "7",
            "--max-bytes",
            "1000",
            "-q",
            "--max-words",
            "100",
            "--guard-retries",
            "0",
            "--strict",
        ]);
        let r = &a.run;
        assert_eq!(r.paths, vec![PathBuf::from("-"), PathBuf::from("dir")]);
        assert_eq!(r.output.as_deref(), Some(std::path::Path::new("out")));
        assert_eq!(r.model.model.as_deref(), Some("m.gguf"));
        assert!(r.model.offline && r.model.verify_model);
        assert_eq!(r.jobs, Some(3));
        assert_eq!(r.format, FormatArg::Json);
        assert_eq!(r.include, vec!["*.md", "*.txt"]);
        assert_eq!(r.context, Some(2048));
        assert_eq!((r.temperature, r.top_p, r.seed), (0.7, Some(0.9), 7));
        assert_eq!(r.max_bytes, 1000);
        assert!(r.quiet && a.strict);
        assert_eq!((a.max_words, a.guard_retries), (100, 0));
        let styled = summarize(&["a.txt", "--prompt-style", "paragraph"]);
        assert!(styled.prompt_style.is_some());
    }

    #[test]
    fn out_of_range_numbers_are_refused() {
        let bad: &[&[&str]] = &[
            &["summarize", "a", "--jobs", "0"],
            &["summarize", "a", "--jobs", "257"],
            &["summarize", "a", "--jobs", "-1"],
            &["summarize", "a", "--jobs", "two"],
            &["summarize", "a", "--context", "255"],
            &["summarize", "a", "--context", "1048577"],
            &["summarize", "a", "--max-words", "9"],
            &["summarize", "a", "--max-words", "1001"],
            &["summarize", "a", "--guard-retries", "11"],
            &["summarize", "a", "--temperature", "-0.1"],
            &["summarize", "a", "--temperature", "10.5"],
            &["summarize", "a", "--temperature", "NaN"],
            &["summarize", "a", "--top-p", "0"],
            &["summarize", "a", "--top-p", "1.01"],
            &["summarize", "a", "--top-p", "inf"],
            &["summarize", "a", "--timeout-per-file", "0"],
            &["summarize", "a", "--timeout-per-file", "-3"],
            &["summarize", "a", "--timeout-per-file", "NaN"],
            &["summarize", "a", "--timeout-per-file", "1e12"],
            &["summarize", "a", "--seed", "-1"],
            &["summarize", "a", "--max-bytes", "-5"],
            &["summarize", "a", "--format", "pdf"],
            &["summarize", "a", "--prompt-style", "nonsense"],
            &["translate", "a", "--jobs", "0"],
            &["bench", "a", "--threads", "0"],
            &["bench", "a", "--threads", "1025"],
            &["bench", "a", "--max-new-tokens", "0"],
            &["bench", "a", "--max-words", "5"],
            &["bench", "a", "--context", "10"],
            &["eval", "wmt", "--src", "s", "--ref", "r", "--jobs", "0"],
            &["eval", "wmt", "--src", "s", "--ref", "r", "--limit", "0"],
            &[
                "eval",
                "wmt",
                "--src",
                "s",
                "--ref",
                "r",
                "--context",
                "100",
            ],
        ];
        for args in bad {
            let kind = rejected(args);
            // A negative number reads as an unknown flag.
            let negative = args.last().is_some_and(|a| a.starts_with('-'));
            assert!(
                matches!(kind, ErrorKind::ValueValidation | ErrorKind::InvalidValue)
                    || (negative && kind == ErrorKind::UnknownArgument),
                "{args:?}: {kind:?}"
            );
        }
        let ok = summarize(&["a", "--jobs", "256", "--temperature", "10", "--top-p", "1"]);
        assert_eq!(ok.run.jobs, Some(256));
    }

    #[test]
    fn conflicts_and_missing_arguments() {
        let cases: &[(&[&str], ErrorKind)] = &[
            (&["summarize"], ErrorKind::MissingRequiredArgument),
            (&["translate"], ErrorKind::MissingRequiredArgument),
            (&["bench"], ErrorKind::MissingRequiredArgument),
            (&["summarize", "a", "-q", "-v"], ErrorKind::ArgumentConflict),
            (
                &["summarize", "a", "--no-guard", "--strict"],
                ErrorKind::ArgumentConflict,
            ),
            (
                &["bench", "a", "--summary-budget", "--max-new-tokens", "9"],
                ErrorKind::ArgumentConflict,
            ),
            (
                &["translate", "a", "--max-words", "50"],
                ErrorKind::UnknownArgument,
            ),
            (
                &["summarize", "a", "--no-such-flag"],
                ErrorKind::UnknownArgument,
            ),
            (
                &["eval", "translation", "--hyp", "h"],
                ErrorKind::MissingRequiredArgument,
            ),
            (
                &["eval", "wmt", "--src", "s"],
                ErrorKind::MissingRequiredArgument,
            ),
            (&["models", "path"], ErrorKind::MissingRequiredArgument),
            (&["models", "rm"], ErrorKind::MissingRequiredArgument),
            (&["models", "frobnicate"], ErrorKind::InvalidSubcommand),
            (&["frobnicate"], ErrorKind::InvalidSubcommand),
        ];
        for (args, kind) in cases {
            assert_eq!(rejected(args), *kind, "{args:?}");
        }
    }

    #[test]
    fn translate_bench_and_eval_options() {
        match parse(&["translate", "a.md", "-o", "t", "--verify-model"])
            .expect("translate")
            .command
        {
            Command::Translate(t) => {
                assert_eq!(t.run.output.as_deref(), Some(std::path::Path::new("t")));
                assert!(t.run.model.verify_model);
            }
            other => panic!("{other:?}"),
        }
        match parse(&[
            "bench",
            "a",
            "-t",
            "4",
            "--json",
            "--dump-prompts",
            "p.jsonl",
        ])
        .expect("bench")
        .command
        {
            Command::Bench(b) => {
                assert_eq!(b.threads, Some(4));
                assert!(b.json && !b.summary_budget);
                assert_eq!((b.max_new_tokens, b.max_words, b.context), (None, 60, None));
                assert_eq!(b.dump_prompts, Some(PathBuf::from("p.jsonl")));
            }
            other => panic!("{other:?}"),
        }
        match parse(&["eval", "wmt", "--src", "s", "--ref", "r"])
            .expect("wmt")
            .command
        {
            Command::Eval(EvalCommand::Wmt {
                limit,
                jobs,
                context,
                json,
                save,
                ..
            }) => {
                assert_eq!(
                    (limit, jobs, context, json, save),
                    (None, None, 1024, false, None)
                );
            }
            other => panic!("{other:?}"),
        }
        match parse(&["eval", "translation", "--hyp", "h", "--ref", "r"])
            .expect("translation")
            .command
        {
            Command::Eval(EvalCommand::Translation {
                hyp,
                reference,
                json,
            }) => {
                assert_eq!((hyp, reference), (PathBuf::from("h"), PathBuf::from("r")));
                assert!(!json);
            }
            other => panic!("{other:?}"),
        }
        match parse(&["eval", "summaries", "--summaries", "out", "--json"])
            .expect("summaries")
            .command
        {
            Command::Eval(EvalCommand::Summaries { refs, json, .. }) => {
                assert!(refs.is_none() && json);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn models_subcommands() {
        match parse(&["models", "pull", "a", "b", "--force", "--offline"])
            .expect("pull")
            .command
        {
            Command::Models(ModelsCommand::Pull { ids, force, cache }) => {
                assert_eq!(ids, vec!["a", "b"]);
                assert!(force && cache.offline);
            }
            other => panic!("{other:?}"),
        }
        match parse(&["models", "path", "smollm2-135m"])
            .expect("path")
            .command
        {
            Command::Models(ModelsCommand::Path { id, cache }) => {
                assert_eq!(id, "smollm2-135m");
                assert!(!cache.offline && cache.cache_dir.is_none());
            }
            other => panic!("{other:?}"),
        }
        match parse(&["models", "rm", "x", "--cache-dir", "c"])
            .expect("rm")
            .command
        {
            Command::Models(ModelsCommand::Rm { id, cache }) => {
                assert_eq!(
                    (id.as_str(), cache.cache_dir),
                    ("x", Some(PathBuf::from("c")))
                );
            }
            other => panic!("{other:?}"),
        }
        match parse(&["models", "verify"]).expect("verify").command {
            Command::Models(ModelsCommand::Verify { ids, .. }) => assert!(ids.is_empty()),
            other => panic!("{other:?}"),
        }
        match parse(&["models", "list", "--cache-dir", "c"])
            .expect("list")
            .command
        {
            Command::Models(ModelsCommand::List(cache)) => {
                assert_eq!(cache.cache_dir, Some(PathBuf::from("c")));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn report_options() {
        match parse(&["report", "out"]).expect("report").command {
            Command::Report(r) => {
                assert_eq!(r.folder, PathBuf::from("out"));
                assert_eq!(
                    (r.format, r.sort),
                    (ReportFormatArg::Md, ReportSortArg::Path)
                );
                assert!(r.output.is_none() && !r.bom);
            }
            other => panic!("{other:?}"),
        }
        match parse(&[
            "report", "out", "--format", "csv", "-o", "r.csv", "--sort", "date", "--bom",
        ])
        .expect("report")
        .command
        {
            Command::Report(r) => {
                assert_eq!(
                    (r.format, r.sort),
                    (ReportFormatArg::Csv, ReportSortArg::Date)
                );
                assert_eq!(r.output, Some(PathBuf::from("r.csv")));
                assert!(r.bom);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(rejected(&["report"]), ErrorKind::MissingRequiredArgument);
        assert_eq!(
            rejected(&["report", "out", "--format", "pdf"]),
            ErrorKind::InvalidValue
        );
        assert_eq!(
            rejected(&["report", "out", "--sort", "title"]),
            ErrorKind::InvalidValue
        );
    }

    #[test]
    fn number_parsers_explain_the_refusal() {
        assert_eq!(usize_in::<1, 5>("5"), Ok(5));
        assert_eq!(usize_in::<1, 5>("6").unwrap_err(), "6 is not in 1..=5");
        assert_eq!(
            usize_in::<1, { usize::MAX }>("0").unwrap_err(),
            "0 is not in 1.."
        );
        assert!(usize_in::<1, 5>("x")
            .unwrap_err()
            .contains("not a whole number"));
        assert_eq!(parse_temperature("0"), Ok(0.0));
        assert!(parse_temperature("nan").is_err());
        assert_eq!(parse_top_p("0.5"), Ok(0.5));
        assert!(parse_top_p("0").unwrap_err().contains("(0, 1]"));
    }
}
