//! L-BFGS with the semantics of `torch.optim.LBFGS` (PyTorch 2.x, `torch/optim/lbfgs.py`):
//! lr 1, max_iter 20 per step, max_eval = max_iter * 5 / 4, history 100, tolerance_grad 1e-7,
//! tolerance_change 1e-9, optional strong-Wolfe line search. Each call of [`Lbfgs::step`] is one
//! `optimizer.step(closure)`. Vectors stay on the device; the scalars the algorithm branches on
//! are read (awaited) in one transfer per evaluation (plus one or two per new direction). On GPU
//! backends the direction comes from the compact representation of the history ([`History`]): a
//! few matrix products instead of ~1,000 small launches per step.

use std::collections::VecDeque;

use burn::tensor::Tensor;

use super::{Evaluation, Flow, Objective, dot, read_scalars};
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineSearch {
    None,
    StrongWolfe,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct LbfgsConfig {
    pub lr: f64,
    pub max_iter: usize,
    pub max_eval: usize,
    pub tolerance_grad: f64,
    pub tolerance_change: f64,
    pub history_size: usize,
    pub line_search: LineSearch,
    /// How the history computes directions: [`HistoryForm::Compact`] on GPU backends,
    /// [`HistoryForm::TwoLoop`] (torch's) where tensors live in host memory.
    pub history_form: HistoryForm,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        Self {
            lr: 1.0,
            max_iter: 20,
            max_eval: 25,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            history_size: 100,
            line_search: LineSearch::None,
            history_form: HistoryForm::TwoLoop,
        }
    }
}

/// Why a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepEnd {
    /// Used its max_iter / max_eval / evaluation budget.
    Budget,
    /// A tolerance test fired (gradient, change in loss or step, or no descent direction).
    Converged,
    /// The objective asked to stop (Ctrl-C).
    Stopped,
}

#[derive(Clone, Copy, Debug)]
pub struct StepResult {
    /// Loss at the start of the step (what torch's `step` returns).
    pub orig_loss: f64,
    /// Loss at the last evaluation.
    pub loss: f64,
    pub evals: usize,
    pub end: StepEnd,
}

/// Optimiser state persisting across steps (torch's `state` dict).
pub struct Lbfgs {
    pub config: LbfgsConfig,
    d: Option<Tensor<1>>,
    t: f64,
    history: History,
    h_diag: f64,
    prev_flat_grad: Option<Tensor<1>>,
    prev_loss: f64,
    n_iter: usize,
    pub func_evals: usize,
}

/// Values read after one evaluation.
struct Read {
    loss: f64,
    grad_max: f64,
    grad_abs_sum: f64,
    /// g · d for the direction given (line search), else NaN.
    gtd: f64,
}

impl Lbfgs {
    pub fn new(config: LbfgsConfig) -> Self {
        Self {
            history: History::with_form(config.history_size, config.history_form, BLOCK_BYTES),
            config,
            d: None,
            t: 0.0,
            h_diag: 1.0,
            prev_flat_grad: None,
            prev_loss: 0.0,
            n_iter: 0,
            func_evals: 0,
        }
    }

    async fn eval<O: Objective>(
        &mut self,
        obj: &mut O,
        x: Tensor<1>,
        dir: Option<&Tensor<1>>,
    ) -> Result<(Evaluation, Read, Flow)> {
        let ev = obj.evaluate(x)?;
        let mut scalars = vec![ev.loss.clone(), ev.grad.clone().abs().max(), ev.grad.clone().abs().sum()];
        if let Some(d) = dir {
            scalars.push(dot(&ev.grad, d));
        }
        let nparts = ev.parts.len();
        scalars.extend(ev.parts.iter().cloned());
        let v = read_scalars(scalars).await?;
        let k = if dir.is_some() { 4 } else { 3 };
        let read = Read { loss: v[0], grad_max: v[1], grad_abs_sum: v[2], gtd: if dir.is_some() { v[3] } else { f64::NAN } };
        if !read.loss.is_finite() {
            return Err(Error::NonFinite(format!("loss = {}", read.loss)));
        }
        self.func_evals += 1;
        let flow = obj.observe(&ev.x, read.loss, &v[k..k + nparts]);
        Ok((ev, read, flow))
    }

    /// One `optimizer.step(closure)`, using at most `budget` evaluations (at least 1).
    pub async fn step<O: Objective>(&mut self, x: &mut Tensor<1>, obj: &mut O, budget: usize) -> Result<StepResult> {
        let cfg = self.config.clone();
        let max_eval = cfg.max_eval.min(budget.max(1));

        let (ev, r, flow) = self.eval(obj, x.clone(), None).await?;
        *x = ev.x;
        let mut flat_grad = ev.grad;
        let orig_loss = r.loss;
        let mut loss = r.loss;
        let mut current_evals = 1;
        let mut grad_max = r.grad_max;
        let mut grad_abs_sum = r.grad_abs_sum;
        let done = |end, loss, evals| Ok(StepResult { orig_loss, loss, evals, end });
        if flow == Flow::Stop {
            return done(StepEnd::Stopped, loss, current_evals);
        }
        if grad_max <= cfg.tolerance_grad {
            return done(StepEnd::Converged, loss, current_evals);
        }

        let mut n_iter = 0;
        let mut end = StepEnd::Budget;
        while n_iter < cfg.max_iter {
            n_iter += 1;
            self.n_iter += 1;

            let d = if self.n_iter == 1 {
                self.history.clear();
                self.h_diag = 1.0;
                flat_grad.clone().neg()
            } else {
                let prev_g = self.prev_flat_grad.as_ref().expect("set after first iteration");
                let prev_d = self.d.as_ref().expect("set after first iteration");
                let y = flat_grad.clone() - prev_g.clone();
                let s = prev_d.clone().mul_scalar(self.t);
                let v = read_scalars(vec![dot(&y, &s), dot(&y, &y)]).await?;
                let (ys, yy) = (v[0], v[1]);
                let pushed = ys > 1e-10;
                if pushed {
                    self.history.push(s, y.clone(), ys);
                    self.h_diag = ys / yy;
                }
                self.history.direction(&flat_grad, pushed.then_some(&y), self.h_diag).await?
            };
            self.prev_flat_grad = Some(flat_grad.clone());
            self.prev_loss = loss;

            self.t = if self.n_iter == 1 { (1.0f64).min(1.0 / grad_abs_sum) * cfg.lr } else { cfg.lr };

            let v = read_scalars(vec![dot(&flat_grad, &d), d.clone().abs().max()]).await?;
            let (gtd, d_max) = (v[0], v[1]);
            self.d = Some(d.clone());
            if gtd > -cfg.tolerance_change {
                end = StepEnd::Converged;
                break;
            }

            let mut ls_func_evals = 0;
            let mut stopped = false;
            let opt_cond;
            match cfg.line_search {
                LineSearch::StrongWolfe => {
                    let remaining = max_eval.saturating_sub(current_evals).max(1);
                    let ls = self.strong_wolfe(obj, x, &d, d_max, loss, &flat_grad, gtd, remaining - 1).await?;
                    loss = ls.f;
                    flat_grad = ls.g;
                    self.t = ls.t;
                    grad_max = ls.g_max;
                    ls_func_evals = ls.evals;
                    stopped = ls.stopped;
                    *x = x.clone() + d.clone().mul_scalar(self.t);
                    opt_cond = grad_max <= cfg.tolerance_grad;
                }
                LineSearch::None => {
                    *x = x.clone() + d.clone().mul_scalar(self.t);
                    // torch skips this evaluation on the last iteration; burnish also skips it
                    // when the evaluation budget is spent, so a run makes exactly N evaluations.
                    if n_iter != cfg.max_iter && current_evals < max_eval {
                        let (ev, r, flow) = self.eval(obj, x.clone(), None).await?;
                        *x = ev.x;
                        flat_grad = ev.grad;
                        loss = r.loss;
                        grad_max = r.grad_max;
                        grad_abs_sum = r.grad_abs_sum;
                        ls_func_evals = 1;
                        stopped = flow == Flow::Stop;
                    }
                    opt_cond = grad_max <= cfg.tolerance_grad;
                }
            }
            current_evals += ls_func_evals;

            if stopped {
                end = StepEnd::Stopped;
                break;
            }
            if n_iter == cfg.max_iter {
                break;
            }
            if current_evals >= max_eval {
                break;
            }
            if opt_cond {
                end = StepEnd::Converged;
                break;
            }
            if d_max * self.t <= cfg.tolerance_change {
                end = StepEnd::Converged;
                break;
            }
            if (loss - self.prev_loss).abs() < cfg.tolerance_change {
                end = StepEnd::Converged;
                break;
            }
        }
        let _ = grad_abs_sum;
        done(end, loss, current_evals)
    }

    /// Strong-Wolfe line search, a port of torch's `_strong_wolfe` (c1 1e-4, c2 0.9, at most
    /// `max_ls` iterations besides the first evaluation). `x` is not modified.
    #[allow(clippy::too_many_arguments)]
    async fn strong_wolfe<O: Objective>(
        &mut self,
        obj: &mut O,
        x: &Tensor<1>,
        d: &Tensor<1>,
        d_norm: f64,
        f: f64,
        g: &Tensor<1>,
        gtd: f64,
        max_ls: usize,
    ) -> Result<LineSearchResult> {
        let (c1, c2, tolerance_change) = (1e-4, 0.9, 1e-9);
        let mut t = self.t;
        let g_max0 = f64::NAN;
        let mut evals = 0;
        let mut stopped = false;

        let (mut f_new, mut g_new, mut gtd_new, mut gmax_new, flow) = self.eval_at(obj, x, d, t).await?;
        evals += 1;
        if flow == Flow::Stop {
            return Ok(LineSearchResult { f: f_new, g: g_new, g_max: gmax_new, t, evals, stopped: true });
        }
        let (mut t_prev, mut f_prev, mut g_prev, mut gtd_prev, mut gmax_prev) = (0.0, f, g.clone(), gtd, g_max0);
        let mut done = false;
        let mut ls_iter = 0;
        // Bracket entries: (t, f, g, gtd, max|g|).
        let mut bracket: Vec<(f64, f64, Tensor<1>, f64, f64)> = Vec::new();
        while ls_iter < max_ls {
            if f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= f_prev) {
                bracket = vec![(t_prev, f_prev, g_prev.clone(), gtd_prev, gmax_prev), (t, f_new, g_new.clone(), gtd_new, gmax_new)];
                break;
            }
            if gtd_new.abs() <= -c2 * gtd {
                bracket = vec![(t, f_new, g_new.clone(), gtd_new, gmax_new)];
                done = true;
                break;
            }
            if gtd_new >= 0.0 {
                bracket = vec![(t_prev, f_prev, g_prev.clone(), gtd_prev, gmax_prev), (t, f_new, g_new.clone(), gtd_new, gmax_new)];
                break;
            }
            let min_step = t + 0.01 * (t - t_prev);
            let max_step = t * 10.0;
            let tmp = t;
            t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, Some((min_step, max_step)));
            t_prev = tmp;
            f_prev = f_new;
            g_prev = g_new.clone();
            gtd_prev = gtd_new;
            gmax_prev = gmax_new;
            let (a, b, c, m, flow) = self.eval_at(obj, x, d, t).await?;
            (f_new, g_new, gtd_new, gmax_new) = (a, b, c, m);
            evals += 1;
            ls_iter += 1;
            if flow == Flow::Stop {
                stopped = true;
                done = true;
                bracket = vec![(t, f_new, g_new.clone(), gtd_new, gmax_new)];
                break;
            }
        }
        if ls_iter == max_ls && bracket.is_empty() {
            bracket = vec![(0.0, f, g.clone(), gtd, g_max0), (t, f_new, g_new.clone(), gtd_new, gmax_new)];
        }

        // Zoom phase.
        let mut insuf_progress = false;
        let order = |b: &Vec<(f64, f64, Tensor<1>, f64, f64)>| if b[0].1 <= b[b.len() - 1].1 { (0, 1) } else { (1, 0) };
        let (mut low_pos, mut high_pos) = if bracket.len() == 2 { order(&bracket) } else { (0, 0) };
        while !done && ls_iter < max_ls {
            let (b0, b1) = (bracket[0].0, bracket[1].0);
            if (b1 - b0).abs() * d_norm < tolerance_change {
                break;
            }
            t = cubic_interpolate(b0, bracket[0].1, bracket[0].3, b1, bracket[1].1, bracket[1].3, None);
            let (bmax, bmin) = (b0.max(b1), b0.min(b1));
            let eps = 0.1 * (bmax - bmin);
            if (bmax - t).min(t - bmin) < eps {
                if insuf_progress || t >= bmax || t <= bmin {
                    t = if (t - bmax).abs() < (t - bmin).abs() { bmax - eps } else { bmin + eps };
                    insuf_progress = false;
                } else {
                    insuf_progress = true;
                }
            } else {
                insuf_progress = false;
            }
            let (a, b, c, m, flow) = self.eval_at(obj, x, d, t).await?;
            (f_new, g_new, gtd_new, gmax_new) = (a, b, c, m);
            evals += 1;
            ls_iter += 1;
            if f_new > f + c1 * t * gtd || f_new >= bracket[low_pos].1 {
                bracket[high_pos] = (t, f_new, g_new.clone(), gtd_new, gmax_new);
                (low_pos, high_pos) = order(&bracket);
            } else {
                if gtd_new.abs() <= -c2 * gtd {
                    done = true;
                } else if gtd_new * (bracket[high_pos].0 - bracket[low_pos].0) >= 0.0 {
                    bracket[high_pos] = bracket[low_pos].clone();
                }
                bracket[low_pos] = (t, f_new, g_new.clone(), gtd_new, gmax_new);
            }
            if flow == Flow::Stop {
                stopped = true;
                break;
            }
        }
        let (t, f_best, g_best, _, gmax_best) = bracket.swap_remove(low_pos);
        // max|g| is unknown only when the line search returns the start point (t = 0).
        let g_max = if gmax_best.is_nan() { f64::INFINITY } else { gmax_best };
        Ok(LineSearchResult { f: f_best, g: g_best, g_max, t, evals, stopped })
    }

    /// One line-search trial at x + t·d: (loss, gradient, g·d, max|g|, flow).
    async fn eval_at<O: Objective>(&mut self, obj: &mut O, x: &Tensor<1>, d: &Tensor<1>, t: f64) -> Result<(f64, Tensor<1>, f64, f64, Flow)> {
        let (ev, r, flow) = self.eval(obj, x.clone() + d.clone().mul_scalar(t), Some(d)).await?;
        Ok((r.loss, ev.grad, r.gtd, r.grad_max, flow))
    }
}

struct LineSearchResult {
    f: f64,
    g: Tensor<1>,
    g_max: f64,
    t: f64,
    evals: usize,
    stopped: bool,
}

/// torch's `_cubic_interpolate`: minimiser of the cubic through two points with derivatives,
/// clamped to `bounds` (default: the interval between the points).
pub fn cubic_interpolate(x1: f64, f1: f64, g1: f64, x2: f64, f2: f64, g2: f64, bounds: Option<(f64, f64)>) -> f64 {
    let (xmin_bound, xmax_bound) = bounds.unwrap_or(if x1 <= x2 { (x1, x2) } else { (x2, x1) });
    let d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    let d2_square = d1 * d1 - g1 * g2;
    if d2_square >= 0.0 {
        let d2 = d2_square.sqrt();
        let min_pos = if x1 <= x2 {
            x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
        } else {
            x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
        };
        min_pos.max(xmin_bound).min(xmax_bound)
    } else {
        (xmin_bound + xmax_bound) / 2.0
    }
}

/// Run L-BFGS steps until `evaluations` loss evaluations have been made (exactly, unless it
/// converges or is stopped first). The PyTorch tutorial's loop `while run <= 300` makes 320;
/// pass 320 to reproduce it.
pub async fn minimize<O: Objective>(opt: &mut Lbfgs, x: &mut Tensor<1>, obj: &mut O, evaluations: usize) -> Result<StepEnd> {
    let mut used = 0;
    while used < evaluations {
        let r = opt.step(x, obj, evaluations - used).await?;
        used += r.evals;
        match r.end {
            StepEnd::Stopped => return Ok(StepEnd::Stopped),
            StepEnd::Converged if r.evals <= 1 => return Ok(StepEnd::Converged),
            _ => {}
        }
    }
    Ok(StepEnd::Budget)
}

/// Most bytes one history block may hold: WebGPU and lavapipe bind at most 128 MiB of a storage
/// buffer at once.
const BLOCK_BYTES: usize = 64 << 20;

/// L-BFGS's (s, y) pairs and the direction they give, in the compact representation of Byrd,
/// Nocedal and Schnabel (1994): with S, Y the pairs as rows, R the upper triangle of S·Yᵀ (time
/// order), D its diagonal and γ = h_diag,
///
///   H·g = γ·g + Sᵀ·p − γ·Yᵀ·w,  w = R⁻¹·(S·g),  p = R⁻ᵀ·((D + γ·Y·Yᵀ)·w − γ·(Y·g)),
///
/// which is the same H as torch's two-loop recursion (tested against it), but costs two matrix
/// products and one read per direction instead of ~5 tensor operations per stored pair and loop
/// (about 1,000 GPU launches per step with a history of 100). The pairs live on the device as rows
/// of [rows, n] blocks (a ring: the oldest pair's row is reused); the small m×m products are kept
/// on the host in f64.
///
/// On backends that run in host memory (burn flex, ndarray) there is no launch cost to save and
/// the skinny matrix products measured slower than the plain recursion (233 vs 207 ms per
/// evaluation of `burnish demo` on two cores), so there the caller picks torch's two-loop
/// recursion over separate vectors ([`HistoryForm::TwoLoop`]).
pub struct History {
    cap: usize,
    block_bytes: usize,
    store: Store,
}

/// How [`History`] computes directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HistoryForm {
    /// torch's two-loop recursion (host-memory backends).
    TwoLoop,
    /// The compact representation (GPU backends).
    Compact,
}

impl HistoryForm {
    /// The faster form for a device (see [`History`]).
    pub fn for_device(device: &crate::device::ComputeDevice) -> Self {
        if device.in_host_memory() { HistoryForm::TwoLoop } else { HistoryForm::Compact }
    }
}

enum Store {
    /// (s, y, 1 / (y·s)), oldest first.
    TwoLoop(VecDeque<(Tensor<1>, Tensor<1>, f64)>),
    Compact(Compact),
}

impl History {
    /// A history of the given form whose device blocks hold at most `block_bytes` each (tests use
    /// small blocks).
    pub fn with_form(cap: usize, form: HistoryForm, block_bytes: usize) -> Self {
        let cap = cap.max(1);
        let store = match form {
            HistoryForm::TwoLoop => Store::TwoLoop(VecDeque::new()),
            HistoryForm::Compact => Store::Compact(Compact::new(cap)),
        };
        Self { cap, block_bytes, store }
    }

    pub fn len(&self) -> usize {
        match &self.store {
            Store::TwoLoop(pairs) => pairs.len(),
            Store::Compact(c) => c.order.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every pair (the device blocks are kept for reuse).
    pub fn clear(&mut self) {
        match &mut self.store {
            Store::TwoLoop(pairs) => pairs.clear(),
            Store::Compact(c) => c.order.clear(),
        }
    }

    /// Adds a pair with `ys` = y·s > 0, dropping the oldest when full. In the compact form its
    /// products with the other pairs are read in the next [`History::direction`] (`new_y` given).
    pub fn push(&mut self, s: Tensor<1>, y: Tensor<1>, ys: f64) {
        match &mut self.store {
            Store::TwoLoop(pairs) => {
                if pairs.len() == self.cap {
                    pairs.pop_front();
                }
                pairs.push_back((s, y, 1.0 / ys));
            }
            Store::Compact(c) => c.push(s, y, self.cap, self.block_bytes),
        }
    }

    /// −H·g (the L-BFGS direction) for gradient `g`, with H0 = `gamma`·I. `new_y` is the y of the
    /// pair pushed since the last call, if any: in the compact form its products with all pairs
    /// are read in the same transfer as S·g and Y·g.
    pub async fn direction(&mut self, g: &Tensor<1>, new_y: Option<&Tensor<1>>, gamma: f64) -> Result<Tensor<1>> {
        match &mut self.store {
            Store::TwoLoop(pairs) => Ok(two_loop(pairs, g, gamma)),
            Store::Compact(c) => c.direction(g, new_y, gamma).await,
        }
    }
}

/// torch's two-loop recursion on device vectors; the coefficients stay on the device.
fn two_loop(pairs: &VecDeque<(Tensor<1>, Tensor<1>, f64)>, g: &Tensor<1>, gamma: f64) -> Tensor<1> {
    let m = pairs.len();
    let mut al: Vec<Option<Tensor<1>>> = vec![None; m];
    let mut q = g.clone().neg();
    for i in (0..m).rev() {
        let (s, y, ro) = &pairs[i];
        let a = dot(s, &q).mul_scalar(*ro);
        q = q - y.clone() * a.clone();
        al[i] = Some(a);
    }
    let mut r = q.mul_scalar(gamma);
    for i in 0..m {
        let (s, y, ro) = &pairs[i];
        let be = dot(y, &r).mul_scalar(*ro);
        let coef = al[i].take().expect("set in first loop") - be;
        r = r + s.clone() * coef;
    }
    r
}

/// The compact form's state: the pairs as rows of device blocks, and their products on the host.
struct Compact {
    rows_per_block: usize,
    s_blocks: Vec<Tensor<2>>,
    y_blocks: Vec<Tensor<2>>,
    /// Ring slots in time order, oldest first.
    order: VecDeque<usize>,
    /// sy[i][j] = s_i · y_j and yy[i][j] = y_i · y_j, by slot (only entries with i older than or
    /// equal to j in time are kept up to date for sy; yy is symmetric).
    sy: Vec<Vec<f64>>,
    yy: Vec<Vec<f64>>,
    /// S·g and Y·g by slot, for the last direction's gradient.
    sg: Vec<f64>,
    yg: Vec<f64>,
}

impl Compact {
    fn new(cap: usize) -> Self {
        Self {
            rows_per_block: 0,
            s_blocks: Vec::new(),
            y_blocks: Vec::new(),
            order: VecDeque::new(),
            sy: vec![vec![0.0; cap]; cap],
            yy: vec![vec![0.0; cap]; cap],
            sg: vec![0.0; cap],
            yg: vec![0.0; cap],
        }
    }

    fn push(&mut self, s: Tensor<1>, y: Tensor<1>, cap: usize, block_bytes: usize) {
        let n = s.dims()[0];
        if self.s_blocks.is_empty() || self.s_blocks[0].dims()[1] != n {
            self.rows_per_block = (block_bytes / (4 * n.max(1))).clamp(1, cap);
            let blocks = cap.div_ceil(self.rows_per_block);
            let zeros = || Tensor::<2>::zeros([self.rows_per_block, n], &s.device());
            self.s_blocks = (0..blocks).map(|_| zeros()).collect();
            self.y_blocks = (0..blocks).map(|_| zeros()).collect();
            self.order.clear();
        }
        let slot = if self.order.len() < cap {
            // The lowest free slot (slots of a cleared history are reused in order).
            (0..cap).find(|k| !self.order.contains(k)).expect("a free slot")
        } else {
            self.order.pop_front().expect("full history")
        };
        let (b, r) = (slot / self.rows_per_block, slot % self.rows_per_block);
        let rows = [r..r + 1, 0..n];
        self.s_blocks[b] = self.s_blocks[b].clone().slice_assign(rows.clone(), s.reshape([1, n]));
        self.y_blocks[b] = self.y_blocks[b].clone().slice_assign(rows, y.reshape([1, n]));
        self.order.push_back(slot);
    }

    async fn direction(&mut self, g: &Tensor<1>, new_y: Option<&Tensor<1>>, gamma: f64) -> Result<Tensor<1>> {
        let m = self.order.len();
        if m == 0 {
            return Ok(g.clone().neg().mul_scalar(gamma));
        }
        let n = g.dims()[0];
        let rhs = match new_y {
            Some(y) => Tensor::cat(vec![g.clone().reshape([n, 1]), y.clone().reshape([n, 1])], 1), // [n, 2]
            None => g.clone().reshape([n, 1]),
        };
        let cols = rhs.dims()[1];
        let mut products = Vec::with_capacity(2 * self.s_blocks.len());
        for blocks in [&self.s_blocks, &self.y_blocks] {
            for blk in blocks.iter() {
                products.push(blk.clone().matmul(rhs.clone()).reshape([self.rows_per_block * cols]));
            }
        }
        let v = read_scalars(products).await?;
        let per_block = self.rows_per_block * cols;
        let blocks = self.s_blocks.len();
        let at = |which: usize, slot: usize, col: usize| {
            let (b, r) = (slot / self.rows_per_block, slot % self.rows_per_block);
            v[(which * blocks + b) * per_block + r * cols + col]
        };
        for &k in &self.order {
            self.sg[k] = at(0, k, 0);
            self.yg[k] = at(1, k, 0);
        }
        if new_y.is_some() {
            let newest = *self.order.back().expect("non-empty");
            for &k in &self.order {
                self.sy[k][newest] = at(0, k, 1);
                let yy = at(1, k, 1);
                self.yy[k][newest] = yy;
                self.yy[newest][k] = yy;
            }
        }
        // Host side, in time order: w = R⁻¹ u (back substitution), then p = R⁻ᵀ((D + γ YYᵀ) w − γ v).
        let slots: Vec<usize> = self.order.iter().copied().collect();
        let r = |a: usize, b: usize| self.sy[slots[a]][slots[b]]; // a <= b
        let mut w = vec![0.0; m];
        for a in (0..m).rev() {
            let mut acc = self.sg[slots[a]];
            for b in a + 1..m {
                acc -= r(a, b) * w[b];
            }
            w[a] = acc / r(a, a);
        }
        let mut rhs2 = vec![0.0; m];
        for a in 0..m {
            let mut acc = r(a, a) * w[a] - gamma * self.yg[slots[a]];
            for b in 0..m {
                acc += gamma * self.yy[slots[a]][slots[b]] * w[b];
            }
            rhs2[a] = acc;
        }
        let mut p = vec![0.0; m];
        for a in 0..m {
            let mut acc = rhs2[a];
            for b in 0..a {
                acc -= r(b, a) * p[b];
            }
            p[a] = acc / r(a, a);
        }
        if w.iter().chain(&p).any(|x| !x.is_finite()) {
            return Err(Error::NonFinite("L-BFGS history (singular curvature pairs)".into()));
        }
        // d = −γ g − Sᵀ p + γ Yᵀ w, one [1, rows] × [rows, n] product per block and matrix.
        let mut cs = vec![0f32; blocks * self.rows_per_block];
        let mut cy = vec![0f32; blocks * self.rows_per_block];
        for (a, &k) in slots.iter().enumerate() {
            cs[k] = -p[a] as f32;
            cy[k] = (gamma * w[a]) as f32;
        }
        let device = g.device();
        let mut d = g.clone().neg().mul_scalar(gamma);
        for b in 0..blocks {
            let range = b * self.rows_per_block..(b + 1) * self.rows_per_block;
            if !slots.iter().any(|k| range.contains(k)) {
                continue;
            }
            let coef = |c: &[f32]| Tensor::<2>::from_data(burn::tensor::TensorData::new(c[range.clone()].to_vec(), [1, self.rows_per_block]), &device);
            d = d + coef(&cs).matmul(self.s_blocks[b].clone()).reshape([n]) + coef(&cy).matmul(self.y_blocks[b].clone()).reshape([n]);
        }
        Ok(d)
    }
}
