//! The Keras (Python) code for a model and its training settings, written the way the lab's
//! notebook cells are, so students can map the page back to the notebook and run it there.

use crate::spec::{Activation, LayerSpec, ModelSpec};
use crate::train::TrainConfig;
use std::fmt::Write;

/// The notebook code that builds, trains and evaluates `spec` with `config`; `train_limit`
/// keeps only the first N training images, as the page's "Training images" field does.
pub fn keras_code(spec: &ModelSpec, config: &TrainConfig, train_limit: Option<usize>) -> String {
    let mut code = String::new();
    // Conv2D and MaxPooling2D read images with a channel axis.
    let has_conv = spec
        .layers
        .iter()
        .any(|l| matches!(l, LayerSpec::Conv2D { .. } | LayerSpec::MaxPool2D { .. }));
    code.push_str(
        "import tensorflow as tf\n\
         \n\
         fmnist = tf.keras.datasets.fashion_mnist\n\
         (training_images, training_labels), (test_images, test_labels) = fmnist.load_data()\n\
         training_images = training_images / 255.0\n\
         test_images = test_images / 255.0\n",
    );
    if has_conv {
        code.push_str(
            "# Conv2D reads a channel axis: (28, 28) -> (28, 28, 1)\n\
             training_images = training_images.reshape(-1, 28, 28, 1)\n\
             test_images = test_images.reshape(-1, 28, 28, 1)\n",
        );
    }
    if let Some(n) = train_limit.filter(|&n| n < 60_000) {
        let _ = writeln!(
            code,
            "training_images, training_labels = training_images[:{n}], training_labels[:{n}]"
        );
    }
    let _ = writeln!(
        code,
        "\n# Same seed as convlab; the random numbers differ between the two libraries.\n\
         tf.keras.utils.set_random_seed({})\n",
        config.seed
    );
    if let Some(threshold) = config.stop_at_loss {
        let _ = write!(
            code,
            "class MyCallback(tf.keras.callbacks.Callback):\n    \
             def on_epoch_end(self, epoch, logs={{}}):\n        \
             if logs.get('loss') is not None and logs['loss'] < {threshold}:\n            \
             print(\"\\nReached the desired loss, so cancelling training!\")\n            \
             self.model.stop_training = True\n\n"
        );
    }

    code.push_str("model = tf.keras.models.Sequential([\n");
    let last = spec.layers.len().saturating_sub(1);
    for (index, layer) in spec.layers.iter().enumerate() {
        let input = if index == 0 {
            if has_conv {
                ", input_shape=(28, 28, 1)"
            } else {
                ", input_shape=(28, 28)"
            }
        } else {
            ""
        };
        let line = match *layer {
            LayerSpec::Conv2D {
                filters,
                kernel,
                activation,
            } => format!(
                "tf.keras.layers.Conv2D({filters}, ({kernel}, {kernel}){}{input})",
                activation_arg(activation)
            ),
            LayerSpec::MaxPool2D { pool } => {
                format!("tf.keras.layers.MaxPooling2D({pool}, {pool}{input})")
            }
            LayerSpec::Flatten => format!(
                "tf.keras.layers.Flatten({})",
                input.trim_start_matches(", ")
            ),
            LayerSpec::Dense { units, activation } => format!(
                "tf.keras.layers.Dense({units}{}{input})",
                activation_arg(activation)
            ),
        };
        let comma = if index == last { "" } else { "," };
        let _ = writeln!(code, "    {line}{comma}");
    }
    code.push_str("])\n\nmodel.summary()\n\n");

    let optimizer = if config.learning_rate == 1e-3 {
        "'adam'".to_string()
    } else {
        format!(
            "tf.keras.optimizers.Adam(learning_rate={})",
            config.learning_rate
        )
    };
    // convlab reads a last layer without softmax as logits (the loss applies the softmax).
    let loss = match spec.layers.last() {
        Some(LayerSpec::Dense {
            activation: Activation::Softmax,
            ..
        }) => "'sparse_categorical_crossentropy'",
        _ => "tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
    };
    let _ = writeln!(
        code,
        "model.compile(optimizer={optimizer}, loss={loss}, metrics=['accuracy'])\n"
    );

    let mut callbacks = Vec::new();
    if config.stop_at_loss.is_some() {
        callbacks.push("MyCallback()".to_string());
    }
    if let Some(es) = &config.early_stopping {
        callbacks.push(format!(
            "tf.keras.callbacks.EarlyStopping(monitor='{}', patience={}, min_delta={}, restore_best_weights={})",
            es.monitor.name(),
            es.patience,
            es.min_delta,
            if es.restore_best_weights { "True" } else { "False" }
        ));
    }
    let mut fit = format!(
        "model.fit(training_images, training_labels, epochs={}, batch_size={}",
        config.epochs, config.batch_size
    );
    if config.validation_split > 0.0 {
        let _ = write!(fit, ", validation_split={}", config.validation_split);
    }
    if !callbacks.is_empty() {
        let _ = write!(fit, ", callbacks=[{}]", callbacks.join(", "));
    }
    let _ = writeln!(code, "{fit})\n");
    code.push_str("test_loss, test_accuracy = model.evaluate(test_images, test_labels)\n");
    code
}

fn activation_arg(activation: Activation) -> String {
    match activation {
        Activation::None => String::new(),
        other => format!(", activation='{}'", other.keras_name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{EarlyStoppingConfig, Monitor};

    #[test]
    fn lab_cnn_reads_like_the_notebook_cell() {
        let code = keras_code(
            &ModelSpec::preset("cnn").unwrap(),
            &TrainConfig::default(),
            None,
        );
        let expected_model = "model = tf.keras.models.Sequential([\n    \
            tf.keras.layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)),\n    \
            tf.keras.layers.MaxPooling2D(2, 2),\n    \
            tf.keras.layers.Conv2D(32, (3, 3), activation='relu'),\n    \
            tf.keras.layers.MaxPooling2D(2, 2),\n    \
            tf.keras.layers.Flatten(),\n    \
            tf.keras.layers.Dense(128, activation='relu'),\n    \
            tf.keras.layers.Dense(10, activation='softmax')\n])\n";
        assert!(code.contains(expected_model), "{code}");
        assert!(code.contains("model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])"));
        assert!(
            code.contains("model.fit(training_images, training_labels, epochs=5, batch_size=32)\n")
        );
        assert!(code.contains("reshape(-1, 28, 28, 1)"));
        assert!(code.contains("set_random_seed(42)"));
        assert!(!code.contains("MyCallback"));
        assert!(!code.contains("training_images[:"));
    }

    #[test]
    fn dnn_flattens_first_and_needs_no_channel_axis() {
        let code = keras_code(
            &ModelSpec::preset("dnn").unwrap(),
            &TrainConfig::default(),
            None,
        );
        assert!(code.contains("    tf.keras.layers.Flatten(input_shape=(28, 28)),\n"));
        assert!(!code.contains("reshape"));
    }

    #[test]
    fn logits_and_pool_first_stacks_stay_faithful() {
        let spec = ModelSpec::parse_text("pool:2,flatten,dense:10").unwrap();
        let code = keras_code(&spec, &TrainConfig::default(), None);
        assert!(
            code.contains("MaxPooling2D(2, 2, input_shape=(28, 28, 1))"),
            "{code}"
        );
        assert!(code.contains("reshape(-1, 28, 28, 1)"));
        assert!(
            code.contains("loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)")
        );
    }

    #[test]
    fn settings_and_callbacks_appear_in_fit() {
        let config = TrainConfig {
            epochs: 20,
            batch_size: 128,
            learning_rate: 0.01,
            seed: 7,
            validation_split: 0.2,
            stop_at_loss: Some(0.4),
            early_stopping: Some(EarlyStoppingConfig {
                monitor: Monitor::ValLoss,
                min_delta: 0.0,
                patience: 2,
                restore_best_weights: true,
            }),
            ..TrainConfig::default()
        };
        let code = keras_code(&ModelSpec::preset("cnn-64").unwrap(), &config, Some(6000));
        assert!(code.contains("training_images[:6000], training_labels[:6000]"));
        assert!(code.contains("logs['loss'] < 0.4"));
        assert!(code.contains("Reached the desired loss, so cancelling training!"));
        assert!(code.contains("optimizer=tf.keras.optimizers.Adam(learning_rate=0.01)"));
        assert!(code.contains(
            "model.fit(training_images, training_labels, epochs=20, batch_size=128, validation_split=0.2, callbacks=[MyCallback(), tf.keras.callbacks.EarlyStopping(monitor='val_loss', patience=2, min_delta=0, restore_best_weights=True)])"
        ), "{code}");
        assert!(code.contains("Conv2D(64, (3, 3)"));
    }
}
