//! Training (section 3), the form: model.compile / model.fit's settings and the two callbacks.

use crate::protocol::BackendChoice;
use crate::ui::app::{App, Msg};
use crate::ui::dom::{bind, on, set_disabled, show_error};
use crate::ui::saved::{parse_setting, Settings};
use crate::ui::{Control, Dispatcher, Panel};
use crate::WebError;
use convlab_core::Monitor;
use std::cell::Cell;
use std::rc::Rc;
use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlSelectElement};

const PANEL: &str = "training settings";

/// The form's fields.
struct Form {
    epochs: HtmlInputElement,
    batch_size: HtmlInputElement,
    learning_rate: HtmlInputElement,
    seed: HtmlInputElement,
    validation_split: HtmlInputElement,
    train_limit: HtmlInputElement,
    backend: HtmlSelectElement,
    cpu_workers: HtmlSelectElement,
    stop_at_loss_on: HtmlInputElement,
    stop_at_loss: HtmlInputElement,
    early_stopping_on: HtmlInputElement,
    monitor: HtmlSelectElement,
    patience: HtmlInputElement,
    min_delta: HtmlInputElement,
    restore: HtmlInputElement,
}

fn number<T: std::str::FromStr>(
    field: &HtmlInputElement,
    label: &str,
    setting: &str,
) -> Result<T, String> {
    parse_setting(label, setting, &field.value())
}

impl Form {
    fn bind() -> Result<Form, WebError> {
        Ok(Form {
            epochs: bind(PANEL, "epochs")?,
            batch_size: bind(PANEL, "batch-size")?,
            learning_rate: bind(PANEL, "learning-rate")?,
            seed: bind(PANEL, "seed")?,
            validation_split: bind(PANEL, "validation-split")?,
            train_limit: bind(PANEL, "train-limit")?,
            backend: bind(PANEL, "backend-choice")?,
            cpu_workers: bind(PANEL, "cpu-workers")?,
            stop_at_loss_on: bind(PANEL, "stop-at-loss-on")?,
            stop_at_loss: bind(PANEL, "stop-at-loss")?,
            early_stopping_on: bind(PANEL, "es-on")?,
            monitor: bind(PANEL, "es-monitor")?,
            patience: bind(PANEL, "es-patience")?,
            min_delta: bind(PANEL, "es-min-delta")?,
            restore: bind(PANEL, "es-restore")?,
        })
    }

    /// The form's settings, checked; the error names the field.
    fn read(&self) -> Result<Settings, String> {
        let settings = Settings {
            epochs: number(&self.epochs, "Epochs", "epochs")?,
            batch_size: number(&self.batch_size, "Batch size", "batch_size")?,
            learning_rate: number(&self.learning_rate, "Learning rate", "learning_rate")?,
            seed: number(&self.seed, "Seed", "seed")?,
            validation_split: number(
                &self.validation_split,
                "Validation split",
                "validation_split",
            )?,
            train_limit: number(&self.train_limit, "Training images", "train_images")?,
            backend: BackendChoice::from_name(&self.backend.value()).unwrap_or_default(),
            // "auto", or one of the numbers offered.
            cpu_workers: self.cpu_workers.value().parse().ok(),
            stop_at_loss_on: self.stop_at_loss_on.checked(),
            stop_at_loss: number(&self.stop_at_loss, "Loss threshold", "stop_at_loss")?,
            early_stopping_on: self.early_stopping_on.checked(),
            monitor: Monitor::from_name(&self.monitor.value()).unwrap_or(Monitor::ValLoss),
            patience: number(&self.patience, "EarlyStopping patience", "patience")?,
            min_delta: number(&self.min_delta, "EarlyStopping min_delta", "min_delta")?,
            restore_best_weights: self.restore.checked(),
        };
        settings.check()?;
        Ok(settings)
    }

    fn show(&self, s: &Settings) {
        self.epochs.set_value(&s.epochs.to_string());
        self.batch_size.set_value(&s.batch_size.to_string());
        self.learning_rate.set_value(&s.learning_rate.to_string());
        self.seed.set_value(&s.seed.to_string());
        self.validation_split
            .set_value(&s.validation_split.to_string());
        self.train_limit.set_value(&s.train_limit.to_string());
        self.backend.set_value(s.backend.name());
        self.cpu_workers.set_value(
            &s.cpu_workers
                .map_or_else(|| "auto".to_string(), |n| n.to_string()),
        );
        self.stop_at_loss_on.set_checked(s.stop_at_loss_on);
        self.stop_at_loss.set_value(&s.stop_at_loss.to_string());
        self.early_stopping_on.set_checked(s.early_stopping_on);
        self.monitor.set_value(s.monitor.name());
        self.patience.set_value(&s.patience.to_string());
        self.min_delta.set_value(&s.min_delta.to_string());
        self.restore.set_checked(s.restore_best_weights);
    }
}

pub struct SettingsPanel {
    fieldset: Element,
    form: Rc<Form>,
    error: HtmlElement,
    form_version: Cell<u64>,
    train_max: Cell<usize>,
}

impl SettingsPanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let panel = SettingsPanel {
            fieldset: bind(PANEL, Control::Settings.id())?,
            form: Rc::new(Form::bind()?),
            error: bind(PANEL, "settings-error")?,
            form_version: Cell::new(0),
            train_max: Cell::new(0),
        };
        for event in ["input", "change"] {
            let (d, form) = (dispatcher.clone(), panel.form.clone());
            on(&panel.fieldset, event, move |_| {
                d.dispatch(Msg::SettingsEdited(form.read()))
            });
        }
        Ok(panel)
    }
}

impl Panel for SettingsPanel {
    fn render(&self, app: &App) {
        if self.form_version.replace(app.versions.form) != app.versions.form {
            self.form.show(&app.state.settings);
        }
        if let Some(data) = &app.data {
            if self.train_max.replace(data.train) != data.train {
                self.form.train_limit.set_max(&data.train.to_string());
            }
        }
        show_error(
            &self.error,
            app.settings_error.as_deref().or(app.notice.as_deref()),
        );
        set_disabled(&self.fieldset, !app.enabled(Control::Settings));
    }
}
