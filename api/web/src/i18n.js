// The pages' texts in English and Vietnamese. The language is `?lang=`, else the one chosen
// before (localStorage), else the browser's.

const texts = {
  en: {
    skip: 'Skip to content',
    brand: 'Mercato',
    trackTitle: 'Order tracking',
    order: 'Order',
    status: 'Status',
    progress: 'Progress',
    eta: 'Estimated delivery',
    noEta: 'No delivery estimate yet',
    delayed: 'Your order is running late.',
    timeline: 'History',
    noEvents: 'Nothing has happened yet.',
    live: 'Live',
    connecting: 'Connecting…',
    reconnecting: 'Connection lost, reconnecting…',
    offline: 'Not updating',
    badLink: 'This tracking link is not valid or has expired. Please ask for a new link.',
    notFound: 'We cannot find this order.',
    failed: 'The order cannot be shown right now. Please try again later.',
    language: 'Language',
    footer: 'Updates appear here as soon as they happen.',
    placedEntry: 'Order placed',
    via: { payment: 'Payment', manufacturing: 'Workshop', fulfillment: 'Warehouse', logistics: 'Carrier', support: 'Support', mercato: 'Mercato' },
    statuses: {
      pending_payment: 'Awaiting payment', paid: 'Paid', confirmed: 'Confirmed', in_production: 'In production',
      produced: 'Produced', shipped: 'Shipped', out_for_delivery: 'Out for delivery', delivered: 'Delivered',
      cancelled: 'Cancelled', delivery_failed: 'Delivery failed', returned: 'Returned', refunded: 'Refunded',
    },
    milestones: ['Confirmed', 'In production', 'Produced', 'Shipped', 'Out for delivery', 'Delivered'],
    types: {
      payment_authorized: 'Payment authorised', payment_captured: 'Payment received', payment_failed: 'Payment failed',
      production_started: 'Production started', production_completed: 'Production completed', packed: 'Packed',
      handed_to_carrier: 'Handed to the carrier', in_transit: 'In transit', out_for_delivery: 'Out for delivery',
      delivered: 'Delivered', delivery_failed: 'Delivery attempt failed', return_requested: 'Return requested',
      returned: 'Returned', refunded: 'Refunded', eta_updated: 'Estimated delivery updated',
      delay_warning: 'Delayed', delivery_expected_soon: 'Delivery expected soon',
    },
  },
  vi: {
    skip: 'Chuyển đến nội dung',
    brand: 'Mercato',
    trackTitle: 'Theo dõi đơn hàng',
    order: 'Đơn hàng',
    status: 'Trạng thái',
    progress: 'Tiến độ',
    eta: 'Dự kiến giao hàng',
    noEta: 'Chưa có thời gian giao dự kiến',
    delayed: 'Đơn hàng của bạn đang bị chậm.',
    timeline: 'Lịch sử',
    noEvents: 'Chưa có cập nhật nào.',
    live: 'Trực tiếp',
    connecting: 'Đang kết nối…',
    reconnecting: 'Mất kết nối, đang kết nối lại…',
    offline: 'Không cập nhật',
    badLink: 'Liên kết theo dõi không hợp lệ hoặc đã hết hạn. Vui lòng yêu cầu liên kết mới.',
    notFound: 'Không tìm thấy đơn hàng này.',
    failed: 'Hiện không thể hiển thị đơn hàng. Vui lòng thử lại sau.',
    language: 'Ngôn ngữ',
    footer: 'Cập nhật sẽ hiện ở đây ngay khi có.',
    placedEntry: 'Đã đặt hàng',
    via: { payment: 'Thanh toán', manufacturing: 'Xưởng', fulfillment: 'Kho', logistics: 'Vận chuyển', support: 'Hỗ trợ', mercato: 'Mercato' },
    statuses: {
      pending_payment: 'Chờ thanh toán', paid: 'Đã thanh toán', confirmed: 'Đã xác nhận', in_production: 'Đang sản xuất',
      produced: 'Đã sản xuất', shipped: 'Đã gửi hàng', out_for_delivery: 'Đang giao hàng', delivered: 'Đã giao',
      cancelled: 'Đã hủy', delivery_failed: 'Giao không thành công', returned: 'Đã trả hàng', refunded: 'Đã hoàn tiền',
    },
    milestones: ['Đã xác nhận', 'Đang sản xuất', 'Đã sản xuất', 'Đã gửi hàng', 'Đang giao', 'Đã giao'],
    types: {
      payment_authorized: 'Đã ủy quyền thanh toán', payment_captured: 'Đã nhận thanh toán', payment_failed: 'Thanh toán thất bại',
      production_started: 'Bắt đầu sản xuất', production_completed: 'Hoàn tất sản xuất', packed: 'Đã đóng gói',
      handed_to_carrier: 'Đã giao cho đơn vị vận chuyển', in_transit: 'Đang vận chuyển', out_for_delivery: 'Đang giao hàng',
      delivered: 'Đã giao hàng', delivery_failed: 'Giao hàng không thành công', return_requested: 'Yêu cầu trả hàng',
      returned: 'Đã trả hàng', refunded: 'Đã hoàn tiền', eta_updated: 'Cập nhật thời gian giao dự kiến',
      delay_warning: 'Bị chậm', delivery_expected_soon: 'Sắp giao hàng',
    },
  },
};

export const locales = ['en', 'vi'];

export function pickLocale() {
  const asked = new URLSearchParams(location.search).get('lang');
  if (asked && texts[asked]) return asked;
  try {
    const kept = localStorage.getItem('mercato.lang');
    if (kept && texts[kept]) return kept;
  } catch {
    // storage disabled
  }
  return (navigator.language || 'en').toLowerCase().startsWith('vi') ? 'vi' : 'en';
}

export function keepLocale(locale) {
  try {
    localStorage.setItem('mercato.lang', locale);
  } catch {
    // storage disabled
  }
  document.documentElement.lang = locale;
}

export function textsOf(locale) {
  return texts[locale] || texts.en;
}

export function formatTime(locale, iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale === 'vi' ? 'vi-VN' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
  }).format(d);
}
