//! Command-line interface definitions (clap derive).

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand, ValueEnum};

use kurz::output::Format;
use kurz::task::prompt::PromptStyle;

/// Summarize and translate German articles into English, offline, with a
/// local GGUF model.
///
/// kurz walks files and folders (.txt, .md, .markdown, .html, .htm), writes
/// one English result per input under the output directory (mirroring the
/// input tree) and a machine-readable manifest (manifest.jsonl). Reruns skip
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
    /// failed (see the manifest's error entries), 1 when nothing could run.
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
    #[arg(long, value_name = "N", conflicts_with = "summary_budget")]
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
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Also write the translations here, one per line.
        #[arg(long, value_name = "FILE")]
        save: Option<PathBuf>,
        /// Lines translated at once [default: 1].
        #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
        jobs: Option<u64>,
        /// Token budget of one model call.
        #[arg(long, value_name = "TOKENS", default_value_t = 1024)]
        context: usize,
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
    #[arg(long, value_name = "T", default_value_t = 0.0)]
    pub temperature: f64,

    /// Nucleus sampling: sample only from the most likely tokens whose
    /// probabilities add up to P (with --temperature > 0).
    #[arg(long, value_name = "P")]
    pub top_p: Option<f64>,

    /// Random seed for sampling.
    #[arg(long, value_name = "S", default_value_t = 299_792_458)]
    pub seed: u64,

    /// Give up on one input after this many seconds (it gets an error
    /// entry naming --timeout-per-file; the batch goes on) [default: no
    /// limit].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_per_file: Option<u64>,

    /// Refuse inputs larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_bytes: u64,

    /// Only print errors and the final tally.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print details for every file (tokens, timings, warnings).
    #[arg(short, long)]
    pub verbose: bool,
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
