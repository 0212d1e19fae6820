//! The live window's display path: a render pass that reads the frames straight from storage
//! buffers (`shaders/live_display.wgsl`). On a shared wgpu device those are the network's own
//! output tensor and the uploaded camera frame ([`GpuImage`]: no copy through the host); on the CPU
//! device the frames are written into the display's own buffers. The same pass draws into the
//! window's surface, into an offscreen texture for screenshots and for the render-and-readback
//! test.

use burn::tensor::Tensor;
use burn::tensor::wgpu::wgpu;

use crate::error::{Error, Result};
use crate::image::RgbF32;

use super::controls::View;

use crate::wgsl::LIVE_DISPLAY_WGSL as SHADER;

/// A frame [1, 3, h, w] (planar RGB f32) living in a wgpu buffer of burn's: the tensor and the
/// pinned resource are held until the frame that draws it has been submitted.
pub struct GpuImage {
    pub resource: burn::backend::wgpu::WgpuResource,
    pub width: u32,
    pub height: u32,
    _tensor: burn::backend::wgpu::CubeTensor,
    _pin: Box<dyn std::any::Any>,
}

impl GpuImage {
    /// The buffer behind `image` ([1, 3, h, w], f32, on burn's wgpu backend). Submits burn's
    /// pending work to the queue, so a render pass submitted afterwards on the same queue sees it.
    pub fn new(image: Tensor<4>) -> Result<Self> {
        use burn::backend::wgpu::{AutoCompiler, CubeTensor, into_contiguous};
        use burn::backend::{Cube, DType};
        use burn::cubecl::wgpu::WgpuServer;
        let [b, c, h, w] = image.dims();
        if b != 1 || c != 3 {
            return Err(Error::Display(format!("expected a [1, 3, h, w] image, got [{b}, {c}, {h}, {w}]")));
        }
        let t = image.try_into_primitive::<Cube>().map_err(|e| Error::Display(format!("not a wgpu tensor: {e:?}")))?;
        // Under burn's fusion the primitive is a lazy tensor: run its stream for the buffer.
        #[cfg(feature = "fusion")]
        let t = t.client.clone().resolve_tensor_float::<burn::backend::wgpu::CubeBackend>(t);
        let t: CubeTensor = t;
        if t.dtype != DType::F32 || !t.client.name().starts_with("wgpu") {
            return Err(Error::Display(format!("not an f32 wgpu tensor ({:?} on {})", t.dtype, t.client.name())));
        }
        let t = into_contiguous(t);
        let pin = t.client.get_resource::<WgpuServer<AutoCompiler>>(t.handle.clone()).map_err(|e| Error::Display(format!("{e:?}")))?;
        t.client.flush().map_err(|e| Error::Display(format!("{e:?}")))?;
        let resource = pin.resource().clone();
        Ok(Self { resource, width: w as u32, height: h as u32, _tensor: t, _pin: Box::new(pin) })
    }
}

/// A frame to draw: on the GPU already, or on the host (written into the display's buffer).
pub enum Picture<'a> {
    Gpu(&'a GpuImage),
    Host(&'a RgbF32),
}

impl Picture<'_> {
    fn size(&self) -> (u32, u32) {
        match self {
            Picture::Gpu(g) => (g.width, g.height),
            Picture::Host(f) => (f.width, f.height),
        }
    }
}

/// Text drawn over the picture: RGBA rows from the top of the target.
pub struct Overlay {
    pub width: u32,
    pub height: u32,
    /// RGBA8, row-major.
    pub rgba: Vec<u8>,
}

impl Overlay {
    /// Lines of white text on a translucent dark band across the top, `scale` font pixels.
    pub fn text(width: u32, lines: &[String], scale: u32) -> Self {
        let line_h = 10 * scale;
        let height = (lines.len() as u32 * line_h + 2 * scale).max(1);
        let mut img = image::RgbImage::new(width.max(1), height);
        for (i, l) in lines.iter().enumerate() {
            crate::sheet::draw_text(&mut img, 4 * scale as i64, (scale + i as u32 * line_h) as i64, l, scale, image::Rgb([255, 255, 255]));
        }
        let rgba = img.pixels().flat_map(|p| if p.0[0] > 0 { [255, 255, 255, 255] } else { [0, 0, 0, 150] }).collect();
        Self { width: width.max(1), height, rgba }
    }
}

/// The display pipeline for one target format.
pub struct Display {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    params: wgpu::Buffer,
    /// Host frames and the overlay, grown as needed.
    stylized: HostBuffer,
    original: HostBuffer,
    overlay: HostBuffer,
    pub format: wgpu::TextureFormat,
}

struct HostBuffer {
    buffer: Option<wgpu::Buffer>,
    label: &'static str,
}

impl HostBuffer {
    fn write(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, bytes: &[u8]) -> &wgpu::Buffer {
        let need = (bytes.len() as u64).max(16).next_multiple_of(4);
        if self.buffer.as_ref().is_none_or(|b| b.size() < need) {
            self.buffer = Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(self.label),
                size: need,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        let b = self.buffer.as_ref().expect("just made");
        if !bytes.is_empty() {
            queue.write_buffer(b, 0, bytes);
        }
        b
    }
}

fn f32_bytes(f: &RgbF32) -> Vec<u8> {
    f.to_chw().iter().flat_map(|v| v.to_le_bytes()).collect()
}

impl Display {
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let storage = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Storage { read_only: true }, has_dynamic_offset: false, min_binding_size: None },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("burnish live display"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Uniform, has_dynamic_offset: false, min_binding_size: None },
                    count: None,
                },
                storage(1),
                storage(2),
                storage(3),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor { label: None, bind_group_layouts: &[Some(&layout)], immediate_size: 0 });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor { label: Some("live_display.wgsl"), source: wgpu::ShaderSource::Wgsl(SHADER.into()) });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("burnish live display"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState { module: &module, entry_point: Some("vs_main"), compilation_options: Default::default(), buffers: &[] },
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState { format, blend: None, write_mask: wgpu::ColorWrites::ALL })],
            }),
            primitive: Default::default(),
            depth_stencil: None,
            multisample: Default::default(),
            multiview_mask: None,
            cache: None,
        });
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("burnish live params"),
            size: 32,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let hb = |label| HostBuffer { buffer: None, label };
        Self { pipeline, layout, params, stylized: hb("stylized frame"), original: hb("original frame"), overlay: hb("overlay"), format }
    }

    /// Records the pass that draws `view` of (stylized, original) with `overlay` into `target`
    /// (`size` pixels).
    #[allow(clippy::too_many_arguments)]
    pub fn draw(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        size: (u32, u32),
        view: View,
        stylized: &Picture,
        original: &Picture,
        overlay: Option<&Overlay>,
    ) {
        let (sw, sh) = stylized.size();
        let (ow, oh) = original.size();
        let bind = |p: &Picture, host: &mut HostBuffer| -> (wgpu::Buffer, u64, u64) {
            match p {
                Picture::Gpu(g) => (g.resource.buffer.clone(), g.resource.offset, g.resource.size),
                Picture::Host(f) => {
                    let bytes = f32_bytes(f);
                    let b = host.write(device, queue, &bytes);
                    (b.clone(), 0, bytes.len() as u64)
                }
            }
        };
        let (s_buf, s_off, s_size) = bind(stylized, &mut self.stylized);
        let (o_buf, o_off, o_size) = bind(original, &mut self.original);
        // The overlay is cut to the target's width (the shader indexes rows of target_w).
        let (overlay_h, overlay_bytes) = match overlay {
            Some(o) if o.width == size.0 => (o.height.min(size.1), o.rgba.clone()),
            Some(o) => {
                let w = size.0 as usize;
                let mut v = vec![0u8; w * o.height as usize * 4];
                for y in 0..o.height as usize {
                    let n = w.min(o.width as usize) * 4;
                    v[y * w * 4..y * w * 4 + n].copy_from_slice(&o.rgba[y * o.width as usize * 4..y * o.width as usize * 4 + n]);
                }
                (o.height.min(size.1), v)
            }
            None => (0, Vec::new()),
        };
        let overlay_buf = self.overlay.write(device, queue, &overlay_bytes).clone();
        let view_code = match view {
            View::Stylized => 0u32,
            View::Original => 1,
            View::SideBySide => 2,
        };
        // A tensor inside a larger buffer is bound at its offset (aligned by burn's allocator).
        let params: [u32; 8] = [view_code, sw, sh, ow, oh, size.0, size.1, overlay_h];
        queue.write_buffer(&self.params, 0, &params.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>());
        fn entry(binding: u32, buffer: &wgpu::Buffer, offset: u64, size: u64) -> wgpu::BindGroupEntry<'_> {
            wgpu::BindGroupEntry { binding, resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding { buffer, offset, size: std::num::NonZeroU64::new(size) }) }
        }
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("burnish live frame"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: self.params.as_entire_binding() },
                entry(1, &s_buf, s_off, s_size),
                entry(2, &o_buf, o_off, o_size),
                wgpu::BindGroupEntry { binding: 3, resource: overlay_buf.as_entire_binding() },
            ],
        });
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("burnish live display"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations { load: wgpu::LoadOp::Clear(wgpu::Color::BLACK), store: wgpu::StoreOp::Store },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &group, &[]);
        pass.draw(0..3, 0..1);
    }

    /// Draws into an offscreen texture of this display's format and reads it back as RGB
    /// (screenshots; the render-and-readback test).
    #[allow(clippy::too_many_arguments)]
    pub fn render_to_image(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        size: (u32, u32),
        view: View,
        stylized: &Picture,
        original: &Picture,
        overlay: Option<&Overlay>,
    ) -> Result<image::RgbImage> {
        let (w, h) = size;
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("burnish live offscreen"),
            size: wgpu::Extent3d { width: w, height: h, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: self.format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let target = texture.create_view(&Default::default());
        let mut encoder = device.create_command_encoder(&Default::default());
        self.draw(device, queue, &mut encoder, &target, size, view, stylized, original, overlay);
        let bytes_per_row = (w * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("burnish live readback"),
            size: (bytes_per_row * h) as u64,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo { texture: &texture, mip_level: 0, origin: wgpu::Origin3d::ZERO, aspect: wgpu::TextureAspect::All },
            wgpu::TexelCopyBufferInfo { buffer: &readback, layout: wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(bytes_per_row), rows_per_image: Some(h) } },
            wgpu::Extent3d { width: w, height: h, depth_or_array_layers: 1 },
        );
        queue.submit([encoder.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        readback.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| Error::Display(e.to_string()))?;
        rx.recv().map_err(|e| Error::Display(e.to_string()))?.map_err(|e| Error::Display(e.to_string()))?;
        let mapped = readback.get_mapped_range(..).map_err(|e| Error::Display(format!("{e:?}")))?;
        let bgra = matches!(self.format, wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb);
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for row in mapped.chunks(bytes_per_row as usize).take(h as usize) {
            for px in row[..(w * 4) as usize].chunks(4) {
                if bgra {
                    rgb.extend_from_slice(&[px[2], px[1], px[0]]);
                } else {
                    rgb.extend_from_slice(&px[..3]);
                }
            }
        }
        drop(mapped);
        readback.unmap();
        image::RgbImage::from_raw(w, h, rgb).ok_or_else(|| Error::Display("readback size".into()))
    }
}
