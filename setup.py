from setuptools import find_packages, setup

setup(
    name="baselines_acktr",
    version="0.1.0",
    description="OpenAI Baselines' ACKTR (K-FAC actor-critic), ported faithfully to TensorFlow 2",
    packages=find_packages(include=["baselines_acktr", "baselines_acktr.*"]),
    package_data={"baselines_acktr.compare": ["data/*.json"]},  # paper_numbers.json for compare
    include_package_data=True,
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16",
        "tensorflow-probability",
        "tf-keras",  # tensorflow-probability imports it on TF >= 2.16
        "tensorboard",  # tf.summary needs it; TF 2.21 no longer pulls it in
        "numpy",
        "threadpoolctl",  # benchmarks: BLAS thread counts of the eigen-decompositions
        "gymnasium[mujoco]>=1.0",
        "ale-py>=0.9",
        "matplotlib",  # learning-curve plots of baselines_acktr.compare
    ],
    extras_require={"test": ["pytest"]},
)
