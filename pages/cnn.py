"""placeholder"""

import streamlit as st

st.title("cnn")
st.info("Coming soon.")
