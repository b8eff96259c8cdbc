"""vsml_tf: VSML (Kirsch & Schmidhuber, NeurIPS 2021) in TensorFlow / Keras 3."""

from setuptools import find_packages, setup

setup(
    name="vsml-tf",
    version="0.1.0",
    description="Variable Shared Meta Learning (VSML): meta-learned learning algorithms "
                "in TensorFlow / Keras 3",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["vsml_tf", "vsml_tf.*"]) + ["vsml_tf.configs",
                                                                 "vsml_tf.configs.sweeps"],
    package_dir={"vsml_tf.configs": "configs"},
    # The shipped learners (vsml_tf/runs/pretrained.py): config, meta-parameters, metadata.
    package_data={"vsml_tf": ["pretrained_data/*/*.json", "pretrained_data/*/*.npz"]},
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.0",
        "tensorflow-datasets>=4.9",
        "importlib_resources",  # tensorflow-datasets 4.9 imports it without requiring it
        "absl-py",
        "ml-collections",
        "wandb",
        "tensorboard",
        "scikit-learn",
        "scipy",                # SVHN's .mat files, the `sum` dataset
        "pillow",               # Omniglot's PNGs
        "matplotlib",
        "tqdm",
        "numpy",
    ],
    extras_require={
        "test": ["pytest", "pytest-timeout"],
        "horovod": ["horovod"],
    },
    entry_points={
        "console_scripts": [
            "vsml-train=vsml_tf.apps.train:run",
            "vsml-evaluate=vsml_tf.apps.evaluate:run",
            "vsml-bench=vsml_tf.tools.bench:run",
        ],
    },
)
