# Sourced by the training scripts: where the shared data is (../shared/data beside the checkout,
# else /work/shared/data) and the style image each network is trained on, by name (NAME and
# NAME-light share one image).
tools_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA=$tools_dir/../../shared/data
[ -d "$DATA" ] || DATA=/work/shared/data
declare -A STYLE_IMAGES=(
  [scream]=$DATA/styles/lengstrom_fast-style-transfer/the_scream.jpg
  [wave]=$DATA/styles/lengstrom_fast-style-transfer/wave.jpg
  [udnie]=$DATA/styles/lengstrom_fast-style-transfer/udnie.jpg
  [starry-night]=$DATA/styles/jcjohnson_fast-neural-style/starry_night.jpg
  [composition-vii]=$DATA/styles/jcjohnson_fast-neural-style/composition_vii.jpg
  [shipwreck]=$DATA/styles/lengstrom_fast-style-transfer/the_shipwreck_of_the_minotaur.jpg
  [woman-with-hat]=$DATA/styles/jcjohnson_neural-style/woman-with-hat-matisse.jpg
)
# The style image of network NAME (or NAME-light); exits when there is none.
style_image() {
  local image=${STYLE_IMAGES[${1%-light}]:-}
  [ -n "$image" ] || { echo "no style image for $1 (tools/styles.sh)" >&2; exit 1; }
  echo "$image"
}
